"""Time from zero to the first answer of an async API: measured on the local stack, modelled for SageMaker.

**Measured.** A whole local stack (``axon local up``'s, with its real autoscaler schedule every ``--tick-seconds``)
runs an async API (the token predictor, ``min_replicas: 0``). Each trial waits until the autoscaler has taken the
API to zero instances, waits a random part of a schedule period (so the request lands anywhere in the schedule's
and the metric publisher's cycles), then submits one request (input upload + InvokeEndpointAsync) and records when
the endpoint asks for an instance (the ``from_zero`` decision: the backlog datapoint, then a tick), when the instance
serves, and when the answer is in S3. The peer measured in the same run is the same API kept warm
(``min_replicas: 1``): its submit-to-answer time, paid for with an instance that never stops.

**Modelled for SageMaker** (no AWS account here): the same path with AWS's periods. SageMaker publishes the backlog
metrics once a minute, the schedule fires once a minute, and an instance takes its provisioning time (the anchors
in ../shared/notes/autoscaling-anchors.md, section 2). AWS's documented way to scale an async endpoint from zero,
a step-scaling policy on a ``HasBacklogWithoutCapacity`` alarm (one 60-s evaluation period), waits for the same
datapoint and then for the alarm's next evaluation: the same shape, so the model gives it the same time.

    python -m bench.serving.cold_start [--trials 5] [--tick-seconds 10] [--write]   # --write: COLD_START.md
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.serving.local_endpoint import bundle
from bench.serving.report import machine
from bench.serving.targets import HERE

RESULTS = HERE / "COLD_START.md"
API = "cold"
BUCKET = "axon-models"
POLL_SECONDS = 0.05
SPEC = (
    "kind: async\n"
    "predictor: {config: {tokens: 5, delay_ms: 10}}\n"
    "autoscaling: {min_replicas: 0, max_replicas: 2, window_seconds: 10, upscale_stabilization_seconds: 0,"
    " downscale_stabilization_seconds: 10}\n"
    "rollout: {strategy: all_at_once}\n"
)
# SageMaker instance provisioning to serving (seconds), ../shared/notes/autoscaling-anchors.md section 2: P50 scale-out
# of early-access customers with container caching (g4dn.xlarge 134 s), without it (g5.xlarge 346 s, g4dn.xlarge
# 381 s), and an 8B LLM on ml.g6.2xlarge (525 s end to end, 17.7 GB image).
PROVISIONING = {
    "g4dn.xlarge, cached image": 134.0,
    "g5.xlarge": 346.0,
    "g4dn.xlarge": 381.0,
    "8B LLM, g6.2xlarge": 525.0,
}
AWS_METRIC_PERIOD = 60.0  # SageMaker's async backlog metrics: one datapoint a minute (standard resolution)
AWS_SCHEDULE = 60.0  # EventBridge rate(1 minute): the finest a schedule fires


def _wait(check: Callable[[], bool], what: str, timeout: float) -> float:
    """Poll ``check`` until true; returns when (perf_counter)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"no {what} after {timeout:.0f} s")


def measure(trials: int, tick_seconds: float, seed: int = 7) -> dict[str, Any]:
    """Run the local trials; times in seconds from the submit."""
    import boto3
    from botocore.config import Config

    from axon.registry import DynamoDBRegistry
    from axon_local.stack import LocalOptions, LocalStack

    rng = random.Random(seed)
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        stack = LocalStack(
            LocalOptions(port=0, tick_seconds=tick_seconds, wait_scale=0.05, time_scale=20, cache_dir=Path(folder))
        ).start()
        try:
            config = Config(retries={"max_attempts": 1})
            clients: dict[str, Any] = {
                s: boto3.client(s, config=config) for s in ("s3", "sagemaker", "sagemaker-runtime", "dynamodb")
            }
            s3, sagemaker, runtime = clients["s3"], clients["sagemaker"], clients["sagemaker-runtime"]
            registry = DynamoDBRegistry("axon-registry", clients["dynamodb"])
            version_id = s3.put_object(Bucket=BUCKET, Key=f"apis/{API}/bundle.tar.gz", Body=bundle(SPEC))["VersionId"]

            def live() -> bool:
                record = registry.find_version(API, version_id)
                return record is not None and record.status.is_final

            _wait(live, "rollout", 180)

            def counts() -> tuple[int, int]:
                [variant] = sagemaker.describe_endpoint(EndpointName=f"axon-{API}")["ProductionVariants"]
                return int(variant["DesiredInstanceCount"]), int(variant.get("CurrentInstanceCount") or 0)

            def submit() -> tuple[float, str]:
                key = f"inputs/{API}/{uuid.uuid4().hex}"
                started = time.perf_counter()
                s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}", ContentType="application/json")
                answer = runtime.invoke_endpoint_async(
                    EndpointName=f"axon-{API}", InputLocation=f"s3://{BUCKET}/{key}", ContentType="application/json"
                )
                return started, answer["OutputLocation"].removeprefix(f"s3://{BUCKET}/")

            def answered(key: str) -> Callable[[], bool]:
                return lambda: bool(s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount"))

            cold: list[dict[str, float]] = []
            warm: list[float] = []
            for _ in range(trials):
                _wait(lambda: counts() == (0, 0), "scale-in to zero", 300)
                time.sleep(rng.uniform(0, tick_seconds))
                started, key = submit()
                asked = _wait(lambda: counts()[0] >= 1, "from-zero decision", 300)
                serving = _wait(lambda: counts()[1] >= 1, "instance", 300)
                done = _wait(answered(key), "answer", 300)
                cold.append({"decided": asked - started, "serving": serving - started, "answered": done - started})
                started, key = submit()  # the same API, warm: the peer
                warm.append(_wait(answered(key), "warm answer", 60) - started)
        finally:
            stack.close()
            os.environ.clear()
            os.environ.update(saved)
    return {"machine": machine(), "trials": trials, "tick_seconds": tick_seconds, "cold": cold, "warm": warm}


def aws_model(provisioning: float) -> dict[str, float]:
    """Expected and worst seconds from a request to its answer on SageMaker, starting from zero instances.

    The request waits for the end of its metric minute (0-60 s, mean 30) for the backlog datapoint, then for the
    next schedule tick (0-60 s, mean 30), then for an instance to provision and load the model; the answer itself
    is small next to these. The CloudWatch delay between a minute's end and its datapoint being readable is not
    published for these metrics and is not included (an AWS-only measurement, not made here)."""
    return {
        "mean": AWS_METRIC_PERIOD / 2 + AWS_SCHEDULE / 2 + provisioning,
        "worst": AWS_METRIC_PERIOD + AWS_SCHEDULE + provisioning,
    }


def render(results: dict[str, Any]) -> str:
    m, cold, warm = results["machine"], results["cold"], results["warm"]
    tick = results["tick_seconds"]

    def median(name: str) -> float:
        return float(statistics.median(trial[name] for trial in cold))

    lines = [
        "# Zero to the first answer (async API)",
        "",
        f"Regenerated by `python -m bench.serving.cold_start --trials {results['trials']} --tick-seconds {tick:g} "
        "--write` (do not edit by hand).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}; load average at start "
        f"{m['load_average_at_start']} (a shared machine).",
        "",
        "## Measured on the local stack",
        "",
        f"The local stack's autoscaler schedule fires every {tick:g} s (AWS: 60 s) and its backlog metrics are "
        "published every 10 s (SageMaker: every 60 s). Seconds from the submit (input upload + InvokeEndpointAsync), "
        f"median of {len(cold)} trials, each submitted at a random point of the schedule's period:",
        "",
        "| | instance asked for (`from_zero`) | instance serving | answer in S3 | idle cost |",
        "|---|---:|---:|---:|---|",
        f"| axon, `min_replicas: 0` (from zero) | {median('decided'):.1f} | {median('serving'):.1f} | "
        f"{median('answered'):.1f} | none |",
        f"| the same API warm (`min_replicas: 1`) | - | - | {statistics.median(warm):.2f} | one instance, always |",
        "",
        "Per trial (asked / serving / answered): "
        + "; ".join(f"{t['decided']:.1f} / {t['serving']:.1f} / {t['answered']:.1f}" for t in cold)
        + ".",
        "",
        "Neither dominates: from zero costs nothing while idle and adds the detection, the schedule and a replica's "
        "start to the first request; warm answers at once and pays for an instance around the clock.",
        "",
        "## Modelled for SageMaker",
        "",
        "Seconds from the request to its answer, starting from zero instances: the backlog datapoint (SageMaker "
        "publishes once a minute: 0-60 s), the next autoscaler tick (EventBridge, once a minute: 0-60 s), then the "
        "instance's provisioning and model load (anchors from the shared notes). AWS's documented way (step scaling "
        "on a `HasBacklogWithoutCapacity` alarm with one 60-s period) waits for the same datapoint, then for the "
        "alarm's next evaluation: the same times. CloudWatch's delay before a minute's datapoint is readable is "
        "not published for these metrics and not included.",
        "",
        "| instance (provisioning) | mean | worst |",
        "|---|---:|---:|",
    ]
    for name, seconds in PROVISIONING.items():
        model = aws_model(seconds)
        lines.append(f"| {name} ({seconds:.0f} s) | {model['mean']:.0f} | {model['worst']:.0f} |")
    shares = [seconds / aws_model(seconds)["mean"] for seconds in PROVISIONING.values()]
    waiting = aws_model(0.0)
    lines += [
        "",
        f"Provisioning is {min(shares):.0%}-{max(shares):.0%} of the mean: detection and the schedule add "
        f"{waiting['mean']:.0f} s on average, {waiting['worst']:.0f} s at worst. The one way to cut it is to not start "
        "from zero: `min_replicas: 1`, at the price of an instance that never stops.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--tick-seconds", type=float, default=10.0)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    text = render(measure(args.trials, args.tick_seconds))
    if args.write:
        RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
