"""End to end on a real local stack: real model servers, the real ASL and handlers, the real CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from axon.registry import VersionStatus
from axon_local.trust import provisioned_handlers
from tests.functional.rollout.conftest import bundle
from tests.integration.harness import ROOT
from tests.integration.local_stack.conftest import Local
from tests.unit.bundle.builder import valid

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-stack")]

IRIS = ROOT / "examples" / "iris-numpy"
SAMPLE = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
EXPECTED = {"predictions": ["setosa", "virginica"]}
SLOW_ECHO = """
import time


class Predictor:
    def __init__(self, config, model_dir):
        self.tag = config.get("tag", "v1")

    def predict(self, payload):
        time.sleep(payload.get("sleep", 0))
        return {"tag": self.tag}
"""


def axon(local: Local, *args: str) -> str:
    env = {**__import__("os").environ, **local.stack.environment()}
    done = subprocess.run(
        [sys.executable, "-m", "axon.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Load:
    def __init__(self, local: Local, api: str, clients: int, payload: dict[str, object]) -> None:
        self.ok, self.failed, self.answers = 0, 0, set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(local, api, payload)) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self, local: Local, api: str, payload: dict[str, object]) -> None:
        while not self._stop.is_set():
            try:
                answer = json.dumps(local.predict(api, payload), sort_keys=True)
                with self._lock:
                    self.ok += 1
                    self.answers.add(answer)
            except Exception:
                with self._lock:
                    self.failed += 1

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def test_the_cli_deploys_v1_and_it_answers_correctly(local: Local) -> None:
    out = axon(local, "deploy", str(IRIS), "--api", "iris")
    assert "v1 of iris went live" in out
    assert json.loads(axon(local, "predict", "iris", "--data", json.dumps(SAMPLE))) == EXPECTED
    got = json.loads(axon(local, "get", "iris", "-o", "json"))
    assert (got["name"], got["status"], got["live_version"], got["traffic"]) == ("iris", "live", "v1", {"v1": 100})
    replicas = got["replicas"]
    assert (replicas["requested"], replicas["ready"], replicas["up_to_date"], replicas["stale"]) == (1, 1, 1, 0)
    assert replicas["by_version"] == {"v1": {"requested": 1, "ready": 1}} and got["endpoint"] == "axon-iris"
    assert got["last_error"] is None and got["requests"]["2xx"] >= 1
    history = json.loads(axon(local, "history", "iris", "-o", "json"))
    assert [(h["version"], h["status"], h["traffic_percent"]) for h in history] == [("v1", "live", 100)]
    assert set(history[0]) >= {"version", "status", "reason", "s3_uri", "image_uri", "created_at", "updated_at"}
    # The replicas run as the API's own role, created with the boundary, as on AWS (docs/security.md).
    role = local.client("iam").get_role(RoleName="axon-api-iris")["Role"]
    assert role["Path"] == "/axon/api/" and role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(
        "policy/axon/axon-api-boundary"
    )
    model = local.client("sagemaker").describe_model(ModelName=got["endpoint"] + "-v1")
    assert model["ExecutionRoleArn"] == role["Arn"]


def test_real_clients_work_unchanged_the_sagemaker_sdk_too(local: Local) -> None:
    """The example that uses the SageMaker Python SDK (v3) predicts through the local stack as it would on AWS."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sdk_predict.py"), "iris", json.dumps(SAMPLE)],
        capture_output=True,
        text=True,
        env=local.cli_env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "axon-iris: InService, config axon-iris-v1"
    assert json.loads(lines[-1]) == EXPECTED


def _spec(strategy: str, tag: str, extra: str = "") -> str:
    return (
        f"predictor: {{config: {{tag: {tag}}}}}\nserving: {{max_concurrency: 4}}\n"
        f"rollout: {{strategy: {strategy}, canary_percent: 30, linear_step_percent: 25, bake_seconds: 60}}\n{extra}"
    )


def test_a_canary_under_load_loses_no_request(local: Local) -> None:
    assert local.wait_final("echo", local.upload("echo", bundle(_spec("canary", "v1"), SLOW_ECHO))).status == "live"
    load = Load(local, "echo", clients=6, payload={"sleep": 0.01})
    try:
        record = local.wait_final("echo", local.upload("echo", bundle(_spec("canary", "v2"), SLOW_ECHO)))
    finally:
        load.stop()
    assert record.status == VersionStatus.LIVE, record.reason
    assert load.failed == 0 and load.ok > 50
    assert load.answers == {'{"tag": "v1"}', '{"tag": "v2"}'}  # both versions answered during the shift
    shares = [
        e.data.get("status") and e.message
        for e in local.registry.timeline("echo", 2)
        if e.data.get("status") == "shifting"
    ]
    assert "30% of traffic on v2" in shares
    assert local.predict("echo", {}) == {"tag": "v2"}


def test_linear_steps_are_observed(local: Local) -> None:
    version_id = local.upload("echo", bundle(_spec("linear", "v3"), SLOW_ECHO))
    record = local.wait_final("echo", version_id)
    assert record.status == VersionStatus.LIVE, record.reason
    shares = [e.message for e in local.registry.timeline("echo", record.seq) if e.data.get("status") == "shifting"]
    assert [s for s in ("25% of traffic on v3", "50% of traffic on v3", "75% of traffic on v3") if s in shares] == [
        "25% of traffic on v3",
        "50% of traffic on v3",
        "75% of traffic on v3",
    ]


def test_a_model_that_cannot_load_fails_at_once_and_the_old_version_serves(local: Local) -> None:
    broken = SLOW_ECHO.replace("self.tag = ", "raise RuntimeError('cannot load the model'); self.tag = ")
    record = local.wait_final("echo", local.upload("echo", bundle(_spec("all_at_once", "bad"), broken)))
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "platform.model_load_failed"
    assert "cannot load the model" in record.reason.message
    assert local.predict("echo", {}) == {"tag": "v3"}


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("traversal", valid().file("../escape.txt", "x").build(), "bundle.path_traversal"),
        ("syntax", valid(b"def (").build(), "bundle.predictor_syntax"),
        ("spec", valid(spec="serving: {max_concurrency: 0}").build(), "spec.invalid"),
        ("requirements", valid().file("requirements.txt", "-e ../local/pkg\n").build(), "bundle.requirements_invalid"),
    ],
)
def test_refused_bundles_never_take_traffic(local: Local, name: str, data: bytes, code: str) -> None:
    record = local.wait_final("echo", local.upload("echo", data, f"{name}.tar.gz"))
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == code
    assert local.predict("echo", {}) == {"tag": "v3"}


def test_a_duplicated_upload_event_starts_one_rollout(local: Local) -> None:
    version_id = local.upload("dup", bundle(_spec("all_at_once", "d1"), SLOW_ECHO))
    record = local.wait_final("dup", version_id)
    head = local.client("s3").head_object(Bucket="axon-models", Key="apis/dup/bundle.tar.gz", VersionId=version_id)
    detail = {
        "version": "0",
        "bucket": {"name": "axon-models"},
        "object": {
            "key": "apis/dup/bundle.tar.gz",
            "size": head["ContentLength"],
            "etag": "e",
            "version-id": version_id,
        },
        "reason": "PutObject",
    }
    entry = {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail), "Resources": []}
    local.client("events").put_events(Entries=[entry, entry])
    time.sleep(1)
    assert [v.version for v in local.registry.list_versions("dup")] == [record.version]
    sfn = local.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    names = [
        e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith("dup-")
    ]
    assert len(names) == 1


def test_the_autoscaler_scales_up_under_load_and_down_after(local: Local) -> None:
    spec = _spec(
        "all_at_once",
        "s1",
        "autoscaling: {min_replicas: 1, max_replicas: 3, target_in_flight: 1, window_seconds: 10,"
        " upscale_stabilization_seconds: 0, downscale_stabilization_seconds: 10}\n",
    )
    assert local.wait_final("scale", local.upload("scale", bundle(spec, SLOW_ECHO))).status == "live"
    load = Load(local, "scale", clients=6, payload={"sleep": 0.2})
    try:
        local.wait_for(lambda: local.stack.tick() and local.replicas("scale") >= 2, "a scale-up", timeout=120)
    finally:
        load.stop()
    assert load.failed == 0
    local.wait_for(lambda: local.stack.tick() and local.replicas("scale") == 1, "the scale-down", timeout=180)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_axon_local_up_stops_everything_on_sigint(tmp_path: Path) -> None:
    """The real command in its own process: ready line, a live API with replicas, then Ctrl-C leaves nothing."""
    import boto3

    from axon_local.dataplane.process import free_port

    port = free_port()
    up = subprocess.Popen(
        [sys.executable, "-m", "axon.cli", "local", "up", "--port", str(port), "--cache-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        ready = up.stdout.readline()
        assert ready.startswith("axon local stack ready on http://127.0.0.1:"), ready
        exports = [up.stdout.readline().strip() for _ in range(4)]
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in exports
        assert f"export AXON_ENDPOINT_URL=http://127.0.0.1:{port}" in exports
        kwargs = {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"}
        kwargs |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        s3 = boto3.client("s3", **kwargs)
        s3.put_object(Bucket="axon-models", Key="apis/solo/bundle.tar.gz", Body=bundle("", SLOW_ECHO))
        sagemaker = boto3.client("sagemaker", **kwargs)

        def in_service() -> bool:
            try:
                return sagemaker.describe_endpoint(EndpointName="axon-solo")["EndpointStatus"] == "InService"
            except Exception:
                return False

        deadline = time.monotonic() + 120
        while not in_service():
            assert time.monotonic() < deadline, "axon-solo never went InService"
            time.sleep(0.5)
        assert _processes_mentioning(str(tmp_path / "bundles")), "a replica process serves the API"
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
    assert _processes_mentioning(str(tmp_path)) == []


def test_a_web_page_cannot_drive_the_stack_and_only_axon_functions_run(local: Local) -> None:
    """The local stack trust findings, end to end: a browser's form upload and a DNS-rebound request are refused
    before S3 sees them, and no Lambda function but axon's own can be created."""
    files = {"file": ("b.tar.gz", b"x", "application/gzip")}
    upload = httpx.post(
        f"{local.stack.url}/axon-models",
        data={"key": "apis/evil/b.tar.gz"},
        files=files,
        headers={"origin": "https://evil.test"},
    )
    rebound = httpx.put(
        f"{local.stack.url}/axon-models/apis/evil/b.tar.gz", headers={"host": "evil.test"}, content=b"x"
    )
    assert (upload.status_code, rebound.status_code) == (403, 403)
    assert "Versions" not in local.client("s3").list_object_versions(Bucket="axon-models", Prefix="apis/evil/")
    lam = local.client("lambda")
    with pytest.raises(ClientError) as refused:
        lam.create_function(
            FunctionName="evil",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/axon-lambda",
            Handler="cProfile.run",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    handlers = {f["FunctionName"]: f["Handler"] for f in lam.list_functions()["Functions"]}
    assert handlers == provisioned_handlers()
