"""ECS rollouts end to end through the real ASL: S3 put -> EventBridge -> Step Functions -> Lambdas -> ECS and ALB.

moto holds ECS, ELBv2 and CloudWatch state; the local stack's ECS emulator (``tests/functional/platforms/ecs_world.py``
wires it) places tasks, registers their targets and serves the ALB that smoke tests reach. Waits are instant, so
every CheckDeployment poll is one reconciliation step of the ECS platform.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from axon import names
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from axon.registry import VersionStatus
from tests.functional.platforms.conftest import rule_weights
from tests.functional.platforms.ecs_world import EcsWorld, ecs_world
from tests.functional.rollout.conftest import Stack, bundle, client, put_in_flight

ECS = "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n"
PLACEMENT_TIMEOUT = 60


@dataclass
class Ecs:
    stack: Stack
    world: EcsWorld
    lag: list[float]  # how far ECS's clock runs behind: how long it has been at a deployment it takes up

    def live_v1(self, spec: str = "") -> str:
        self.stack.push_image(flavour="gpu")
        version_id = self.stack.upload("iris", bundle(ECS + spec))
        record = self.stack.wait_final("iris", version_id)
        assert record.status == VersionStatus.LIVE, record.reason
        return version_id

    def weights(self) -> list[tuple[str, int]]:
        return rule_weights(self.world.config, "iris")

    def service(self, label: str) -> dict[str, object] | None:
        found = client("ecs").describe_services(
            cluster=names.ECS_CLUSTER, services=[ecs_service.service_name("iris", label)]
        )
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        return dict(active[0]) if active else None

    def shifts(self, seq: int) -> list[int]:
        """The traffic steps the registry recorded for version ``seq`` (CheckDeployment writes one per change)."""
        events = [e for e in self.stack.registry.timeline("iris", seq) if e.data.get("status") == "shifting"]
        return [int(re.match(r"(\d+)%", e.message).group(1)) for e in events]  # type: ignore[union-attr]


@pytest.fixture
def ecs(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ecs]:
    lag = [0.0]

    def clock() -> float:
        return time.time() - lag[0]

    with ecs_world(client, monkeypatch, clock=clock, placement_timeout_seconds=PLACEMENT_TIMEOUT) as world:
        yield Ecs(stack, world, lag)


def test_a_first_ecs_upload_goes_live_behind_the_apis_listener_rule(ecs: Ecs) -> None:
    ecs.live_v1()
    service = ecs.service("v1")
    assert service is not None and service["desiredCount"] == 1
    task = client("ecs").describe_task_definition(taskDefinition=str(service["taskDefinition"]))["taskDefinition"]
    (container,) = task["containerDefinitions"]
    assert container["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert container["image"].endswith(f":rt-{ecs.stack.version('iris', 'v1').image_key}")
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["AXON_BUNDLE_URI"] == "s3://axon-models/versions/iris/v1/bundle.tar.gz"
    assert ecs.weights() == [("v1", 100)]
    api = ecs.stack.registry.get_api("iris")
    assert api is not None and api.platform == "ecs" and api.live_seq == 1


@pytest.mark.parametrize(
    ("rollout", "steps"),
    [
        ("", [100]),
        ("rollout: {strategy: canary, canary_percent: 20}", [20, 100]),
        ("rollout: {strategy: linear, linear_step_percent: 25}", [25, 50, 75, 100]),
    ],
)
def test_a_second_version_shifts_weights_per_strategy_and_blue_is_removed(
    ecs: Ecs, rollout: str, steps: list[int]
) -> None:
    first = ecs.live_v1()
    second = ecs.stack.upload("iris", bundle(ECS + rollout))
    record = ecs.stack.wait_final("iris", second)
    assert record.status == VersionStatus.LIVE, record.reason
    assert ecs.shifts(record.seq) == steps
    assert ecs.weights() == [("v2", 100)]
    assert ecs.service("v1") is None and ecs.service("v2") is not None
    assert ecs.stack.version("iris", first).status == VersionStatus.SUPERSEDED
    groups = client("elbv2").describe_target_groups()["TargetGroups"]
    assert [g["TargetGroupName"] for g in groups] == [ecs_listener.target_group_name("iris", "v2")]


def test_the_smoke_test_reaches_green_before_any_traffic_moves(ecs: Ecs) -> None:
    ecs.live_v1()
    second = ecs.stack.upload("iris", bundle(ECS + "smoke_test: {payload: {x: 1}}\nrollout: {strategy: canary}"))
    record = ecs.stack.wait_final("iris", second)
    assert record.status == VersionStatus.LIVE, record.reason
    ((path, headers, body),) = ecs.world.model.requests  # what green's replica got, through the ALB's test rule
    assert (path, headers[ecs_listener.VERSION_HEADER], body) == ("/invocations", "v2", b'{"x": 1}')
    kinds = [e.kind if e.kind == "smoke_test" else e.data.get("status") for e in ecs.stack.registry.timeline("iris", 2)]
    assert kinds.index("smoke_test") < kinds.index("shifting")


def test_a_failed_smoke_test_rolls_back_with_blue_never_touched(ecs: Ecs) -> None:
    ecs.live_v1()
    ecs.world.model.status = 500
    second = ecs.stack.upload("iris", bundle(ECS + "smoke_test: {payload: 1}"))
    record = ecs.stack.wait_final("iris", second)
    assert record.status == VersionStatus.ROLLED_BACK
    assert record.reason is not None and record.reason.code == "smoke_test.failed"
    assert ecs.shifts(record.seq) == []
    assert ecs.weights() == [("v1", 100)] and ecs.service("v2") is None


def test_an_alarm_during_the_bake_rolls_traffic_back_to_blue(ecs: Ecs) -> None:
    ecs.live_v1()
    second = ecs.stack.upload(
        "iris", bundle(ECS + "rollout: {strategy: canary, canary_percent: 10, bake_seconds: 3600}")
    )
    ecs.stack.wait_until(lambda: ecs.weights() == [("v1", 90), ("v2", 10)], "the canary step")
    client("cloudwatch").set_alarm_state(AlarmName="axon-iris-5xx", StateValue="ALARM", StateReason="5XX on v2")
    record = ecs.stack.wait_final("iris", second)
    assert record.status == VersionStatus.ROLLED_BACK
    assert record.reason is not None and record.reason.code == "deployment.rolled_back"
    assert "alarm axon-iris-5xx fired with 10% of traffic on v2" in record.reason.message
    assert ecs.weights() == [("v1", 100)]
    assert ecs.service("v2") is None and ecs.service("v1") is not None
    api = ecs.stack.registry.get_api("iris")
    assert api is not None and api.live_seq == 1


def test_no_gpu_capacity_fails_the_rollout_clearly_and_leaves_blue_serving(ecs: Ecs) -> None:
    ecs.live_v1("autoscaling: {min_replicas: 2}")
    ecs.world.fill()
    # ECS has been trying to place green's tasks for all but the last seconds of the placement timeout: the
    # workflow polls (instant waits) a few seconds before it gives up.
    ecs.lag[0] = PLACEMENT_TIMEOUT - 3
    second = ecs.stack.upload("iris", bundle(ECS + "autoscaling: {min_replicas: 2}"))
    record = ecs.stack.wait_final("iris", second)
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "platform.capacity_unavailable"
    assert record.reason.message.startswith("2 of 2 tasks of axon-iris-v2 are waiting for g5.xlarge capacity")
    assert "unable to place a task" in record.reason.message
    # While it waited, the timeline said why: once, not once per poll, and before the failure.
    timeline = ecs.stack.registry.timeline("iris", record.seq)
    waiting = [i for i, e in enumerate(timeline) if e.kind == "progress" and "g5.xlarge capacity" in e.message]
    (failed,) = [i for i, e in enumerate(timeline) if e.data.get("status") == VersionStatus.FAILED.value]
    assert len(waiting) == 1 and waiting[0] < failed, [(e.kind, e.message) for e in timeline]
    assert timeline[waiting[0]].message.startswith("2 of 2 tasks of axon-iris-v2 are waiting for g5.xlarge capacity")
    assert (
        f"capacity provider {names.capacity_provider_name('g5.xlarge')} is adding instances"
        in timeline[waiting[0]].message
    )
    assert ecs.weights() == [("v1", 100)]
    blue = ecs.service("v1")
    assert blue is not None and (blue["desiredCount"], blue["runningCount"]) == (2, 2)
    assert ecs.service("v2") is None


def test_the_autoscaler_sets_the_live_services_desired_count(ecs: Ecs) -> None:
    from axon_local.patches import fire_schedules

    ecs.live_v1("autoscaling: {min_replicas: 1, max_replicas: 8, target_in_flight: 1}")
    put_in_flight("iris", 6.0)
    assert fire_schedules() == 2  # the autoscaler and the reconciler
    service = ecs.service("v1")
    assert service is not None and int(str(service["desiredCount"])) > 1
