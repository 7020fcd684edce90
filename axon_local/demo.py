"""``make demo``: the main job, end to end, on the local stack, in a few minutes.

Starts the local stack, deploys the iris example with the CLI, predicts, rolls out v2 as a canary under load
(zero failed requests expected), drives a load spike the real autoscaler Lambda answers with replicas (and
removes them after), drops a broken bundle that is refused while v2 keeps serving, prints a summary and stops.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config

from axon import names
from axon.registry import DynamoDBRegistry, VersionStatus
from axon_local.stack import LocalOptions, LocalStack

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "iris-numpy"
SAMPLE = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
EXPECTED = {"predictions": ["setosa", "virginica"]}


@dataclass
class Load:
    """Closed-loop clients calling InvokeEndpoint until stopped; counts answers and failures."""

    clients: int
    runtime: Any  # one sagemaker-runtime client shared by the threads (boto3 clients are thread-safe)
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self) -> None:
        runtime = self.runtime
        body = json.dumps(SAMPLE)
        while not self._stop.is_set():
            try:
                answer = json.loads(
                    runtime.invoke_endpoint(EndpointName="axon-iris", Body=body, ContentType="application/json")[
                        "Body"
                    ].read()
                )
                good = answer == EXPECTED
                error = "" if good else f"wrong answer {answer}"
            except Exception as exc:  # every failure is counted and reported
                good, error = False, repr(exc)
            with self._lock:
                self.ok += good
                self.failed += not good
                if error and len(self.errors) < 5:
                    self.errors.append(error)

    def stop(self) -> Load:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


# The CLI's environment, taken once when the stack is up: in-process Lambda invocations change os.environ on
# other threads while they run, so it is not copied again later.
CLI_ENV: dict[str, str] = {}


def axon(*args: str) -> str:
    """Run the real CLI, as a user would, against the local stack; echo and return its output."""
    done = subprocess.run(
        [sys.executable, "-m", "axon.cli", *args], capture_output=True, text=True, env=CLI_ENV, check=False
    )
    output = (done.stdout + done.stderr).rstrip()
    print("$ axon " + " ".join(args) + ("\n" + output if output else ""), flush=True)
    if done.returncode != 0:
        raise SystemExit(f"demo: `axon {' '.join(args)}` exited {done.returncode}")
    return done.stdout


CLIENTS: dict[str, Any] = {}  # made once, up front, for the same reason as CLI_ENV


def replicas() -> tuple[int, int]:
    """(ready, requested) of the demo's endpoint, in the autoscaler's words."""
    variant = CLIENTS["sagemaker"].describe_endpoint(EndpointName="axon-iris")["ProductionVariants"][0]
    return int(variant.get("CurrentInstanceCount") or 0), int(variant.get("DesiredInstanceCount") or 0)


def wait_replicas(stack: LocalStack, check: str, target: int, timeout: float) -> list[int]:
    """Tick the schedule until the ready count satisfies ``check`` (">=" or "<=") ``target``; returns the path."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, requested = replicas()
        if not seen or seen[-1] != ready:
            seen.append(ready)
            print(f"   replicas ready {ready}, requested {requested}", flush=True)
        if (ready >= target) if check == ">=" else (ready <= target):
            return seen
        time.sleep(2)
    return seen


def version_two(workdir: Path) -> Path:
    """v2 of the example: same model, a bigger concurrency and a quick, visible autoscaling policy."""
    target = workdir / "iris-v2"
    shutil.copytree(EXAMPLE, target)
    spec = yaml.safe_load((target / "axon.yaml").read_text())
    spec["serving"]["max_concurrency"] = 8
    spec["autoscaling"] = {
        "min_replicas": 1,
        "max_replicas": 3,
        "target_in_flight": 1,
        "window_seconds": 10,
        "upscale_stabilization_seconds": 0,
        "downscale_stabilization_seconds": 20,
    }
    spec["rollout"] = {"strategy": "canary", "canary_percent": 25, "bake_seconds": 30}
    (target / "axon.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def main() -> int:
    started = time.monotonic()
    results: dict[str, str] = {}
    workdir = Path(tempfile.mkdtemp(prefix="axon-demo-"))
    say("starting the local stack (moto + axon's patches + local SageMaker; no Docker, no AWS)")
    stack = LocalStack(
        LocalOptions(port=0, tick_seconds=5, wait_scale=0.1, time_scale=10, cache_dir=workdir / "cache")
    ).start()
    os.environ.update(stack.environment())
    CLI_ENV.update(os.environ)
    no_retries = Config(retries={"max_attempts": 1})
    CLIENTS.update(
        {s: boto3.client(s, config=no_retries) for s in ("sagemaker", "sagemaker-runtime", "dynamodb", "s3")}
    )
    runtime = CLIENTS["sagemaker-runtime"]
    print(f"   ready on {stack.url}")
    try:
        say("1. deploy examples/iris-numpy as API 'iris' (v1)")
        axon("deploy", str(EXAMPLE), "--api", "iris")
        answer = json.loads(axon("predict", "iris", "--data", json.dumps(SAMPLE)))
        results["v1 prediction"] = "ok" if answer == EXPECTED else f"WRONG {answer}"

        say("2. roll out v2 as a 25% canary (bake 30 s, compressed 10x) while 8 clients call the API")
        load = Load(8, runtime).start()
        axon("deploy", str(version_two(workdir)), "--api", "iris")
        time.sleep(2)
        load.stop()
        registry = DynamoDBRegistry(
            stack.provisioned.settings.registry_table if stack.provisioned else "", CLIENTS["dynamodb"]
        )
        shifting = [e.message for e in registry.timeline("iris", 2) if e.data.get("status") == "shifting"]
        steps = list(dict.fromkeys(shifting))
        print(f"   {load.ok} requests answered, {load.failed} failed; traffic steps: {steps or 'none seen'}")
        for error in load.errors:
            print(f"   error: {error}")
        results["canary under load"] = f"{load.ok} ok, {load.failed} failed"

        say("3. a load spike: the autoscaler Lambda (schedule every 5 s here) adds replicas, then removes them")
        print("   (first the replicas the canary's load added go back to 1)")
        wait_replicas(stack, "<=", 1, timeout=150)
        spike = Load(12, runtime).start()
        up_path = wait_replicas(stack, ">=", 2, timeout=90)
        time.sleep(4)
        spike.stop()
        print(f"   spike: {spike.ok} requests answered, {spike.failed} failed")
        down_path = wait_replicas(stack, "<=", 1, timeout=150)
        results["autoscaling"] = f"replicas {' -> '.join(map(str, up_path + down_path[1:]))}"
        results["spike"] = f"{spike.ok} ok, {spike.failed} failed"

        say("4. a broken bundle (its predictor does not parse) uploaded straight to S3: refused, v2 keeps serving")
        broken = workdir / "broken"
        shutil.copytree(EXAMPLE, broken)
        (broken / "predictor.py").write_text("class Predictor(:\n    pass\n")
        subprocess.run(["tar", "-czf", str(workdir / "broken.tar.gz"), "-C", str(broken), "."], check=True)
        version_id = CLIENTS["s3"].put_object(
            Bucket=names.LOCAL_MODELS_BUCKET,
            Key="apis/iris/broken.tar.gz",
            Body=(workdir / "broken.tar.gz").read_bytes(),
        )["VersionId"]
        deadline = time.monotonic() + 60
        record = registry.find_version("iris", version_id)
        while (record is None or not record.status.is_final) and time.monotonic() < deadline:
            time.sleep(0.5)
            record = registry.find_version("iris", version_id)
        reason = record.reason if record else None
        print(
            f"   {record.version if record else '?'}: {record.status.value if record else 'missing'} ({reason.code if reason else '-'}: {reason.message if reason else ''})"
        )
        answer = json.loads(axon("predict", "iris", "--data", json.dumps(SAMPLE)))
        refused = record is not None and record.status == VersionStatus.FAILED
        results["broken bundle"] = f"refused ({reason.code})" if refused and reason else "NOT refused"
        results["v2 still serving"] = "ok" if answer == EXPECTED else "NO"

        say("summary")
        axon("get", "iris")
        axon("history", "iris")
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    width = max(map(len, results))
    for name, value in results.items():
        print(f"   {name.ljust(width)}  {value}")
    print(f"   stopped everything; {time.monotonic() - started:.0f} s in all")
    good = (
        results.get("v1 prediction") == "ok"
        and results.get("canary under load", "").endswith(" 0 failed")
        and results.get("v2 still serving") == "ok"
        and results.get("broken bundle", "").startswith("refused")
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
