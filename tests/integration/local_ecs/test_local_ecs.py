"""``compute.platform: ecs`` end to end on a real local stack: the real workflow and ECS platform against moto's
ECS and ELBv2, the local ECS agent running services as real model servers, the local ALB on the stack's port."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from axon.names import MODEL_LOAD_FAILED_MARKER
from axon.registry import VersionStatus
from tests.functional.rollout.conftest import bundle
from tests.integration.local_ecs.conftest import Local, alive

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-ecs")]

API = "gpu-echo"
ECHO = """
import time


class Predictor:
    def __init__(self, config, model_dir):
        self.tag = config.get("tag", "v1")

    def predict(self, payload):
        time.sleep(payload.get("sleep", 0))
        return {"tag": self.tag}
"""


def spec(tag: str) -> str:
    return (
        "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n"  # the local replica serves on the CPU
        f"predictor: {{config: {{tag: {tag}}}}}\n"
        "serving: {max_concurrency: 4}\n"
        "rollout: {strategy: canary, canary_percent: 30, bake_seconds: 2}\n"
        "smoke_test: {payload: {}}\n"  # sent through the test rule (X-Axon-Version) before any traffic moves
        "autoscaling: {min_replicas: 1, max_replicas: 3, target_in_flight: 1, window_seconds: 10,"
        " upscale_stabilization_seconds: 0, downscale_stabilization_seconds: 10}\n"
    )


class Load:
    """Clients calling the API on the load balancer's path until stopped; counts answers and failures."""

    def __init__(self, local: Local, clients: int, payload: dict[str, object]) -> None:
        self.ok, self.failed, self.answers, self.errors = 0, 0, set[str](), list[str]()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._url = f"{local.stack.url}/apis/{API}/invocations"
        self._threads = [threading.Thread(target=self._run, args=(payload,)) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self, payload: dict[str, object]) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    answer = client.post(self._url, json=payload)
                    ok, text = answer.status_code == 200, f"{answer.status_code} {answer.text}"
                except httpx.HTTPError as error:
                    ok, text = False, repr(error)
                with self._lock:
                    if ok:
                        self.ok += 1
                        self.answers.add(text.split(" ", 1)[1])
                    else:
                        self.failed += 1
                        self.errors.append(text)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def test_v1_goes_live_on_ecs_and_answers_on_the_load_balancer_path(local: Local) -> None:
    record = local.wait_final(API, local.upload(API, bundle(spec("v1"), ECHO)))
    assert record.status == VersionStatus.LIVE, record.reason
    answer = local.invoke(API, {})
    assert answer.status_code == 200 and answer.json() == {"tag": "v1"}
    assert local.counts(API, "v1") == (1, 1)
    assert local.healthy_targets(API, "v1") == 1
    assert [alive(pid) for pid in local.pids(API, "v1")] == [True]
    # No rule matches another API: the listener's default action answers, as on the ALB.
    assert local.invoke("nothing-here", {}).status_code == 404


def test_a_canary_under_load_loses_no_request_and_blue_is_gone_after(local: Local) -> None:
    blue = local.pids(API, "v1")
    load = Load(local, clients=6, payload={"sleep": 0.01})
    try:
        record = local.wait_final(API, local.upload(API, bundle(spec("v2"), ECHO)))
    finally:
        load.stop()
    assert record.status == VersionStatus.LIVE, record.reason
    assert load.failed == 0, load.errors[:5]
    assert load.ok > 50
    assert {json.loads(a)["tag"] for a in load.answers} == {"v1", "v2"}  # both versions answered during the shift
    shifts = [e.message for e in local.registry.timeline(API, record.seq) if e.data.get("status") == "shifting"]
    assert "30% of traffic on v2" in shifts
    # Blue is removed after the commit (CompleteRollout), not before: until then it could take the traffic back.
    local.wait_for(lambda: local.service(API, "v1") is None, "blue's service to be removed", timeout=60)
    local.wait_for(lambda: not any(alive(pid) for pid in blue), "blue's processes to stop", timeout=60)
    assert local.invoke(API, {}).json() == {"tag": "v2"}
    # The test rule left with the rollout: a version header no rule names takes the production rule.
    assert local.invoke(API, {}, {"X-Axon-Version": "v1"}).json() == {"tag": "v2"}


def test_a_version_whose_model_cannot_load_fails_at_once_and_the_live_one_keeps_serving(local: Local) -> None:
    broken = ECHO.replace("self.tag = ", "raise RuntimeError('cannot load the model'); self.tag = ")
    started = time.monotonic()
    record = local.wait_final(API, local.upload(API, bundle(spec("bad"), broken)))
    assert time.monotonic() - started < 60  # not the placement timeout (30 min), nor the circuit breaker's retries
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "platform.model_load_failed", record.reason
    headline, *lines = record.reason.message.splitlines()
    assert headline.startswith(f"{record.version} could not load its model: task "), record.reason.message
    assert "(Essential container in task exited) with exit code 3: Predictor.__init__ failed: " in headline
    assert "RuntimeError: cannot load the model" in headline
    assert lines[-1].startswith(MODEL_LOAD_FAILED_MARKER) and any("Traceback" in line for line in lines)
    local.wait_for(lambda: local.service(API, "bad") is None, "the failed version's service to be removed")
    assert local.pids(API, "bad") == []
    assert local.invoke(API, {}).json() == {"tag": "v2"}


def test_the_autoscaler_sets_desired_count_and_the_processes_follow(local: Local) -> None:
    load = Load(local, clients=6, payload={"sleep": 0.2})
    try:
        local.wait_for(
            lambda: local.stack.tick() and local.counts(API, "v2")[0] >= 2,
            "the autoscaler to raise desiredCount",
            timeout=120,
        )
        desired = local.counts(API, "v2")[0]
        local.wait_for(
            lambda: (
                len([p for p in local.pids(API, "v2") if alive(p)]) == desired
                and local.healthy_targets(API, "v2") == desired
                and local.counts(API, "v2") == (desired, desired)
            ),
            f"{desired} replicas serving",
            timeout=60,
        )
    finally:
        load.stop()
    assert load.failed == 0, load.errors[:5]
    local.wait_for(
        lambda: local.stack.tick() and local.counts(API, "v2")[0] == 1, "the autoscaler to lower desiredCount", 180
    )
    local.wait_for(
        lambda: len(local.pids(API, "v2")) == 1 and local.counts(API, "v2") == (1, 1),
        "the extra replicas to stop and ECS to report it",
        timeout=90,
    )
    assert local.healthy_targets(API, "v2") == 1
