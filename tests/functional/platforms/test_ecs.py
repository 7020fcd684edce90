"""The ECS platform against moto: deploy, blue-green steps, rollback, capacity shortage, removal, autoscaling."""

from __future__ import annotations

import json

import pytest

from axon import names
from axon.platforms.base import DeploymentPhase, VersionRef
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import platform as ecs_platform
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsNotConfiguredError
from axon.platforms.ecs.smoke import http_post
from axon.platforms.errors import CapacityUnavailableError, PlatformError, SmokeTestFailedError
from axon.platforms.factory import platform_factory
from axon.settings import Settings
from axon.spec import load_spec_text
from tests.functional.platforms.conftest import World, client
from tests.functional.platforms.ecs_world import ModelDouble

CANARY = "rollout: {strategy: canary, canary_percent: 10, bake_seconds: 60}\n"
BREAKER = "ECS deployment circuit breaker: tasks failed to start."  # the local agent's reason, as ECS's


def _alarm(name: str, state: str) -> None:
    client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


# ---- factory and config -----------------------------------------------------------------------------------------


def test_the_factory_reads_the_ssm_config_once_and_builds_the_ecs_platform(world: World) -> None:
    platform_for = platform_factory(Settings(), client)
    platform = platform_for("ecs")
    assert platform.name == "ecs" and platform is platform_for("ecs")
    assert platform.config == world.config  # type: ignore[attr-defined]


def test_without_the_ecs_stack_the_factory_says_what_is_missing(aws: None) -> None:
    with pytest.raises(EcsNotConfiguredError, match="needs the AxonEcs stack"):
        platform_factory(Settings(), client)("ecs")


def test_a_malformed_config_names_the_bad_field(aws: None) -> None:
    client("ssm").put_parameter(Name=ECS_CONFIG_PARAMETER, Type="String", Value=json.dumps({"cluster": "axon"}))
    with pytest.raises(EcsNotConfiguredError, match="listener_arn: Field required"):
        platform_factory(Settings(), client)("ecs")


# ---- first version ----------------------------------------------------------------------------------------------


def test_deploy_starts_green_with_gpu_task_target_group_alarms_and_test_rule(world: World) -> None:
    version = world.version("v1", "autoscaling: {min_replicas: 2}")
    world.platform.deploy(version, None)
    world.platform.deploy(version, None)  # a retried DeployVersion changes nothing
    service = world.service("iris", "v1")
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)
    task = client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task["containerDefinitions"][0]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert world.target_groups() == [ecs_listener.target_group_name("iris", "v1")]
    assert world.weights() == []  # no production rule before v1 is healthy: nothing serves yet
    (test_rule,) = world.rules()
    token = ecs_listener.header_condition(test_rule["Conditions"], ecs_listener.TEST_TOKEN_HEADER)
    assert token is not None and len(token) == 32  # the rollout's secret: only rule readers can reach green
    wanted = ecs_listener.test_conditions("iris", "v1", token)
    assert ecs_listener.conditions_key(test_rule["Conditions"]) == ecs_listener.conditions_key(wanted)
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="axon-iris-")["MetricAlarms"]
    assert {a["AlarmName"]: a["StateValue"] for a in alarms} == {"axon-iris-5xx": "OK", "axon-iris-latency": "OK"}


def test_a_first_version_takes_all_traffic_once_healthy_and_its_test_rule_goes(world: World) -> None:
    version = world.version("v1")
    world.platform.deploy(version, None)
    status = world.platform.deployment_status(version, None)
    assert (status.phase, status.new_version_percent, status.reachable) == (DeploymentPhase.SUCCEEDED, 100, True)
    assert world.weights() == [("v1", 100)]
    (rule,) = world.rules()
    assert int(rule["Priority"]) % 2 == 0  # the production half of the API's priority slot
    assert world.platform.deployment_status(version, None).phase == DeploymentPhase.SUCCEEDED  # repeatable


def test_the_smoke_test_reaches_green_through_the_test_rule_before_any_traffic(world: World) -> None:
    version = world.version("v1", "smoke_test: {payload: {x: 1}}")
    world.platform.deploy(version, None)
    waiting = world.platform.deployment_status(version, None)
    assert (waiting.phase, waiting.new_version_percent, waiting.reachable) == (DeploymentPhase.IN_PROGRESS, 0, True)
    assert world.weights() == []
    assert world.platform.smoke_test(version, b'{"x": 1}', "application/json") == b'{"ok": true}'
    ((path, headers, body),) = world.ecs.model.requests  # what green's replica got, through the ALB's test rule
    assert (path, headers[ecs_listener.VERSION_HEADER], body) == ("/invocations", "v1", b'{"x": 1}')
    assert world.platform.deployment_status(version, None).phase == DeploymentPhase.SUCCEEDED


@pytest.mark.parametrize(("status", "match"), [(500, "answered HTTP 500"), (404, "answered HTTP 404")])
def test_a_bad_smoke_answer_fails_the_smoke_test(world: World, status: int, match: str) -> None:
    version = world.version("v1", "smoke_test: {payload: 1}")
    world.platform.deploy(version, None)
    world.ecs.model.status = status
    with pytest.raises(SmokeTestFailedError, match=match):
        world.platform.smoke_test(version, b"1", "application/json")
    assert world.platform.deployment_status(version, None).new_version_percent == 0  # still waiting: no pass tag


def test_an_unreachable_front_door_fails_the_smoke_test(world: World) -> None:
    version = world.version("v1", "smoke_test: {payload: 1}")
    world.platform.deploy(version, None)
    client("lambda").update_function_configuration(  # the smoke function's ALB stops answering
        FunctionName=names.ECS_SMOKE_FUNCTION,
        Environment={"Variables": {names.ECS_SMOKE_TARGET_ENV: "http://127.0.0.1:9"}},
    )
    with pytest.raises(SmokeTestFailedError, match="did not answer"):
        world.platform.smoke_test(version, b"1", "application/json")


def test_a_smoke_test_without_the_version_target_group_fails(world: World) -> None:
    with pytest.raises(SmokeTestFailedError, match="no target group"):
        world.platform.smoke_test(world.version("v9"), b"1", "application/json")


def test_http_post_returns_error_statuses_as_answers() -> None:
    with ModelDouble(status=503, body=b"busy").serve() as model:
        status, body, _ = http_post(f"{model.url}/x", b"{}", {"Content-Type": "application/json"}, 5.0)
        assert (status, body) == (503, b"busy")


# ---- blue-green -------------------------------------------------------------------------------------------------


def test_a_canary_moves_weights_one_step_per_bake_and_blue_is_removed_only_after_the_commit(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    seen = []
    for advance in (0, 0, 30, 30, 59, 1):
        world.advance(advance)
        status = world.platform.deployment_status(v2, v1)
        seen.append((status.phase.value, status.new_version_percent, world.weights()))
    assert seen == [
        ("in_progress", 10, [("v1", 90), ("v2", 10)]),
        ("in_progress", 10, [("v1", 90), ("v2", 10)]),  # baking
        ("in_progress", 10, [("v1", 90), ("v2", 10)]),  # 30 s baked
        ("in_progress", 100, [("v1", 0), ("v2", 100)]),  # 60 s baked: all on green, blue still listed
        ("in_progress", 100, [("v1", 0), ("v2", 100)]),  # the last step bakes too
        ("succeeded", 100, [("v2", 100)]),
    ]
    assert world.service("iris", "v1") is not None  # blue kept until the registry commits
    world.platform.retire(v2, v1)  # CompleteRollout, after the commit
    world.platform.retire(v2, v1)  # retried: harmless
    assert world.weights() == [("v2", 100)]
    assert world.service("iris", "v1") is None and world.service("iris", "v2") is not None
    assert world.target_groups() == [ecs_listener.target_group_name("iris", "v2")]
    assert world.task_definitions() == ["axon-iris-v2:1"]
    assert len(world.rules()) == 1  # the test rule went with the rollout


def test_linear_walks_every_step(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", "rollout: {strategy: linear, linear_step_percent: 30}")
    world.platform.deploy(v2, v1)
    percents = [world.platform.deployment_status(v2, v1).new_version_percent for _ in range(5)]
    assert percents == [30, 60, 90, 100, 100]
    assert world.weights() == [("v2", 100)]


def test_green_starts_as_large_as_blue_is_now(world: World) -> None:
    v1 = world.live("v1")
    world.platform.set_capacity("iris", "AllTraffic", 4)
    world.platform.deploy(world.version("v2", "autoscaling: {max_replicas: 3}"), v1)
    assert world.service("iris", "v2")["desiredCount"] == 3  # blue's 4, within the new spec's max


def test_an_interrupted_poll_restarts_the_bake_of_its_step(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    world.platform.deployment_status(v2, v1)
    green = world.platform._target_group("iris", "v2")
    assert green is not None
    client("elbv2").remove_tags(ResourceArns=[green], TagKeys=[ecs_platform.TAG_SHIFT])  # the tag write never happened
    world.advance(600)
    assert world.platform.deployment_status(v2, v1).message == "baking 10% for 60 s"
    world.advance(59)
    assert world.platform.deployment_status(v2, v1).new_version_percent == 10
    world.advance(1)
    assert world.platform.deployment_status(v2, v1).new_version_percent == 100


@pytest.mark.parametrize("alarm", ["axon-iris-5xx", "axon-iris-latency"])
def test_an_alarm_at_a_step_puts_all_traffic_back_on_blue(world: World, alarm: str) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    assert world.platform.deployment_status(v2, v1).new_version_percent == 10
    _alarm(alarm, "ALARM")
    status = world.platform.deployment_status(v2, v1)
    assert (status.phase, status.new_version_percent) == (DeploymentPhase.ROLLED_BACK, 0)
    assert status.message.startswith(f"alarm {alarm} fired with 10% of traffic on v2")
    assert world.weights() == [("v1", 100)]
    # What HandleFailure does next: rollback (already done, so a no-op) and remove green.
    world.platform.rollback(v2, v1)
    world.platform.remove_version(v2)
    assert world.weights() == [("v1", 100)] and len(world.rules()) == 1
    assert world.service("iris", "v2") is None and world.service("iris", "v1")["desiredCount"] == 1
    assert world.target_groups() == [ecs_listener.target_group_name("iris", "v1")]
    assert world.task_definitions() == ["axon-iris-v1:1"]


def test_the_next_rollout_rearms_an_alarm_the_last_one_tripped(world: World) -> None:
    v1 = world.live("v1")
    _alarm("axon-iris-5xx", "ALARM")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    assert world.platform.deployment_status(v2, v1).phase == DeploymentPhase.IN_PROGRESS


def test_green_losing_its_targets_mid_shift_rolls_back(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    world.platform.deployment_status(v2, v1)
    world.ecs.lose_targets("axon-iris-v2")
    status = world.platform.deployment_status(v2, v1)
    assert status.phase == DeploymentPhase.ROLLED_BACK and "lost healthy targets with 10%" in status.message
    assert world.weights() == [("v1", 100)]


def test_a_smoke_failure_rollback_before_traffic_leaves_blue_alone(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", "smoke_test: {payload: 1}")
    world.platform.deploy(v2, v1)
    assert world.platform.deployment_status(v2, v1).reachable
    world.platform.rollback(v2, v1)
    world.platform.remove_version(v2)
    assert world.weights() == [("v1", 100)] and len(world.rules()) == 1


def test_rolling_back_a_failed_first_version_takes_its_rule_away(world: World) -> None:
    v1 = world.live("v1")
    world.platform.rollback(v1, None)
    world.platform.remove_version(v1)
    assert (world.rules(), world.target_groups(), world.task_definitions()) == ([], [], [])


def test_until_the_commit_blue_can_take_the_traffic_back_after_it_rollback_refuses(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    assert world.platform.deployment_status(v2, v1).phase == DeploymentPhase.IN_PROGRESS
    assert world.platform.deployment_status(v2, v1).phase == DeploymentPhase.SUCCEEDED
    world.platform.rollback(v2, v1)  # e.g. the commit failed: blue is still there to take it all back
    assert world.weights() == [("v1", 100)]
    world.platform.deploy(v2, v1)
    while world.platform.deployment_status(v2, v1).phase != DeploymentPhase.SUCCEEDED:
        pass
    world.platform.retire(v2, v1)
    with pytest.raises(PlatformError, match="v2 keeps serving"):
        world.platform.rollback(v2, v1)
    with pytest.raises(PlatformError, match="still in the API's listener rule"):
        world.platform.remove_version(v2)
    assert world.weights() == [("v2", 100)]


# ---- failures before traffic ------------------------------------------------------------------------------------


def test_no_gpu_capacity_is_reported_then_fails_with_a_clear_reason_and_blue_untouched(world: World) -> None:
    v1 = world.live("v1")
    world.ecs.fill()
    v2 = world.version("v2", "autoscaling: {min_replicas: 2}")
    world.platform.deploy(v2, v1)
    waiting = world.platform.deployment_status(v2, v1)
    assert (waiting.phase, waiting.new_version_percent) == (DeploymentPhase.IN_PROGRESS, 0)
    assert waiting.message.startswith("2 of 2 tasks of axon-iris-v2 are waiting for g5.xlarge capacity (1 GPU each)")
    assert f"capacity provider {names.capacity_provider_name('g5.xlarge')} is adding instances" in waiting.message
    assert "unable to place a task" in waiting.message
    world.advance(world.config.placement_timeout_seconds + 5)  # ECS stamped the deployment with the clock
    failed = world.platform.deployment_status(v2, v1)
    assert failed.phase == DeploymentPhase.FAILED
    assert failed.message.startswith(f"{CapacityUnavailableError.code}: 2 of 2 tasks of axon-iris-v2 are waiting")
    assert "the live version is untouched" in failed.message
    assert world.weights() == [("v1", 100)] and world.service("iris", "v1")["runningCount"] == 1


def test_capacity_arriving_before_the_timeout_lets_the_rollout_go_on(world: World) -> None:
    v1 = world.live("v1")
    world.ecs.fill()
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    assert world.platform.deployment_status(v2, v1).new_version_percent == 0
    world.advance(300)
    world.ecs.grow()
    assert world.platform.deployment_status(v2, v1).new_version_percent == 100


def test_targets_failing_health_checks_wait_then_fail(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    world.ecs.lose_targets("axon-iris-v2")
    waiting = world.platform.deployment_status(v2, v1)
    assert waiting.message == "waiting for health checks: 0 of 1 targets of axon-iris-v2 pass /ping"
    world.advance(world.config.placement_timeout_seconds + 5)  # ECS stamped the deployment with the clock
    failed = world.platform.deployment_status(v2, v1)
    assert failed.phase == DeploymentPhase.FAILED and failed.message.startswith("0 of 1 targets")
    assert world.weights() == [("v1", 100)]


def test_the_circuit_breaker_failing_green_fails_the_rollout(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.ecs.fleet.crash("axon-iris-v2", 0, [])  # green's tasks stop before they pass their health check
    world.platform.deploy(v2, v1)
    world.fail_until_the_circuit_breaker_trips("iris", "v2")
    status = world.platform.deployment_status(v2, v1)
    assert (status.phase, status.message) == (DeploymentPhase.FAILED, f"v2 could not start: {BREAKER}")


def test_the_circuit_breaker_after_traffic_moved_rolls_back(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    world.platform.deployment_status(v2, v1)
    world.ecs.crash("axon-iris-v2", 137, ["Killed"])  # green's tasks keep stopping
    world.fail_until_the_circuit_breaker_trips("iris", "v2")
    status = world.platform.deployment_status(v2, v1)
    assert (status.phase, status.message) == (DeploymentPhase.ROLLED_BACK, f"v2 failed: {BREAKER}")
    assert world.weights() == [("v1", 100)]


def test_a_vanished_service_or_target_group_fails_the_rollout(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    client("ecs").delete_service(cluster=world.config.cluster, service="axon-iris-v2", force=True)
    assert world.platform.deployment_status(v2, v1).message == "v2 could not start: its service no longer exists"
    world.platform.remove_version(v2)
    gone = world.platform.deployment_status(v2, v1)
    assert (gone.phase, gone.message) == (DeploymentPhase.FAILED, "the target group of v2 is gone")


def test_an_instance_type_without_a_capacity_provider_is_refused_at_deploy(world: World) -> None:
    odd = world.version("v1")
    odd = VersionRef(
        api=odd.api,
        label=odd.label,
        spec=load_spec_text("compute: {platform: ecs, instance_type: p5.48xlarge, gpu: 8}"),
        image_uri=odd.image_uri,
        model_data_uri=odd.model_data_uri,
    )
    with pytest.raises(CapacityUnavailableError, match=r"no capacity provider for p5\.48xlarge .*offers g5\.xlarge"):
        world.platform.deploy(odd, None)
    assert world.target_groups() == []


# ---- capacity, removal ------------------------------------------------------------------------------------------


def test_capacity_is_the_live_service_and_set_capacity_changes_its_desired_count(world: World) -> None:
    assert world.platform.capacity("iris") is None
    world.live("v1")
    capacity = world.platform.capacity("iris")
    assert capacity is not None
    assert (capacity.variant, capacity.requested, capacity.ready, capacity.can_change) == ("AllTraffic", 1, 1, True)
    world.platform.set_capacity("iris", "AllTraffic", 3)
    assert world.service("iris", "v1")["desiredCount"] == 3
    after = world.platform.capacity("iris")
    assert after is not None and (after.requested, after.ready) == (3, 3)


def test_capacity_cannot_change_while_a_rollout_shifts(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    world.platform.deployment_status(v2, v1)
    capacity = world.platform.capacity("iris")
    assert capacity is not None and (capacity.can_change, capacity.status) == (False, "Shifting")
    assert world.service("iris", "v1")["serviceName"] == "axon-iris-v1"  # blue still reported as live (90 %)


@pytest.mark.parametrize(
    ("variant", "deployed", "match"),
    [("Other", True, "one variant"), ("AllTraffic", False, "no live ECS service")],
)
def test_set_capacity_refuses_what_it_cannot_scale(world: World, variant: str, deployed: bool, match: str) -> None:
    if deployed:
        world.live("v1")
    with pytest.raises(PlatformError, match=match):
        world.platform.set_capacity("iris", variant, 2)


def test_delete_api_removes_everything_of_that_api_only(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    world.platform.deployment_status(v2, v1)
    other = world.version("v1", api="iris-2")
    world.platform.deploy(other, None)
    world.platform.deployment_status(other, None)
    world.platform.delete_api("iris")
    world.platform.delete_api("iris")  # idempotent
    assert world.weights() == [] and world.weights("iris-2") == [("v1", 100)]
    assert world.target_groups() == [ecs_listener.target_group_name("iris-2", "v1")]
    assert world.task_definitions() == ["axon-iris-2-v1:1"]
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix="axon-iris-5")["MetricAlarms"] == []


def test_two_apis_get_separate_priority_slots(world: World) -> None:
    world.live("v1")
    other = world.version("v1", api="iris-2", yaml="smoke_test: {payload: 1}")
    world.platform.deploy(other, None)
    priorities = sorted(int(r["Priority"]) for r in world.rules())
    assert priorities == [2, 3]  # iris holds slot 1 (1, 2); iris-2's test rule takes slot 2's first priority
