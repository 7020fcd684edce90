"""Blue/green UpdateEndpoint on the emulator: traffic steps and waits per strategy, rollbacks, capacity changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.local.conftest import ApiError, Local


def _blue_green(kind: str, wait: int = 60, **routing: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": kind, "WaitIntervalInSeconds": wait, **routing}
        }
    }


def _update(
    local: Local, config: dict[str, Any] | None, count: int = 4, launch_failure: str | None = None, **extra: Any
) -> float:
    local.endpoint(count=count)
    if launch_failure is not None:
        local.fleet.fail_next_launch("axon-iris", launch_failure)
    local.model("model-cfg-v2")
    local.config("cfg-v2", "model-cfg-v2", count=count)
    start = local.clock.now()
    params: dict[str, Any] = {"EndpointName": "axon-iris", "EndpointConfigName": "cfg-v2", **extra}
    if config is not None:
        params["DeploymentConfig"] = config
    local.api("UpdateEndpoint", **params)
    return start


def _steps(local: Local, start: float) -> list[tuple[float, list[tuple[str, float]]]]:
    """Routes after the endpoint's creation, as (seconds since the update, [(config, share)])."""
    return [(t - start, shares) for t, shares in local.fleet.routes()[1:]]


def test_without_deployment_config_all_traffic_moves_at_once(local: Local) -> None:
    start = _update(local, None)
    assert _steps(local, start) == [(0.0, [("cfg-v2", 1.0)])]
    body = local.describe()
    assert body["EndpointStatus"] == "InService" and body["EndpointConfigName"] == "cfg-v2"
    assert "LastDeploymentConfig" not in body
    assert local.fleet.live == {f for f in local.fleet.live if f.startswith("cfg-v2")}


def test_all_at_once_bakes_then_terminates_the_old_fleet(local: Local) -> None:
    config = _blue_green("ALL_AT_ONCE", 60)
    config["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] = 30
    start = _update(local, config)
    assert _steps(local, start) == [(0.0, [("cfg-v2", 1.0)])]
    [(terminated_at, _, blue)] = [c for c in local.fleet.calls if c[1] == "terminate"]
    assert (terminated_at - start, blue) == (90.0, "cfg-v1")
    body = local.describe()
    assert body["LastDeploymentConfig"] == config and body["EndpointConfigName"] == "cfg-v2"
    assert body["ProductionVariants"][0]["CurrentInstanceCount"] == 4


def test_canary_by_instance_count_sends_its_share_then_the_rest(local: Local) -> None:
    start = _update(local, _blue_green("CANARY", 60, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1}))
    assert _steps(local, start) == [(0.0, [("cfg-v1", 0.75), ("cfg-v2", 0.25)]), (60.0, [("cfg-v2", 1.0)])]
    assert local.describe()["EndpointConfigName"] == "cfg-v2"


def test_canary_by_capacity_percent(local: Local) -> None:
    start = _update(local, _blue_green("CANARY", 10, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 10}))
    assert _steps(local, start) == [(0.0, [("cfg-v1", 0.9), ("cfg-v2", 0.1)]), (10.0, [("cfg-v2", 1.0)])]


def test_linear_steps_with_their_waits(local: Local) -> None:
    start = _update(local, _blue_green("LINEAR", 30, LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 25}))
    assert _steps(local, start) == [
        (0.0, [("cfg-v1", 0.75), ("cfg-v2", 0.25)]),
        (30.0, [("cfg-v1", 0.5), ("cfg-v2", 0.5)]),
        (60.0, [("cfg-v1", 0.25), ("cfg-v2", 0.75)]),
        (90.0, [("cfg-v2", 1.0)]),
    ]
    [(terminated_at, _, _)] = [c for c in local.fleet.calls if c[1] == "terminate"]
    assert terminated_at - start == 120.0  # the final step bakes too


def test_describe_during_the_update_shows_the_pending_deployment(local: Local) -> None:
    snapshots: list[dict[str, Any]] = []
    local.fleet.on_route = lambda: snapshots.append(local.describe())
    _update(local, _blue_green("LINEAR", 30, LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 2}))
    during = snapshots[1]
    assert during["EndpointStatus"] == "Updating" and during["EndpointConfigName"] == "cfg-v1"
    pending = during["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "cfg-v2"
    [variant] = pending["ProductionVariants"]
    assert variant["VariantStatus"][0]["Status"] == "ActivatingTraffic"
    assert "50% of traffic" in variant["VariantStatus"][0]["StatusMessage"]
    assert variant["CurrentInstanceCount"] == 4 and variant["InstanceType"] == "ml.m5.large"
    assert during["ProductionVariants"][0]["CurrentInstanceCount"] == 4  # the blue fleet still serves


def test_a_new_fleet_that_fails_ping_leaves_the_old_one_serving(local: Local) -> None:
    reason = "The primary container did not pass the ping health check."
    _update(local, _blue_green("ALL_AT_ONCE", 0), launch_failure=reason)
    body = local.describe()
    assert body["EndpointStatus"] == "InService" and body["EndpointConfigName"] == "cfg-v1"
    assert body["FailureReason"] == "The primary container did not pass the ping health check."
    assert len(local.fleet.routes()) == 1  # traffic never left the old fleet
    assert "PendingDeploymentSummary" not in body


def test_an_alarm_during_the_canary_bake_rolls_back(local: Local) -> None:
    config = _blue_green("CANARY", 60, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 20})
    config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": "axon-iris-5xx"}]}
    local.alarms.alarm_at["axon-iris-5xx"] = local.clock.now() + 30
    start = _update(local, config)
    assert _steps(local, start) == [(0.0, [("cfg-v1", 0.8), ("cfg-v2", 0.2)]), (30.0, [("cfg-v1", 1.0)])]
    assert local.fleet.kinds("terminate") == ["cfg-v2"]
    body = local.describe()
    assert body["EndpointStatus"] == "InService" and body["EndpointConfigName"] == "cfg-v1"
    assert "axon-iris-5xx" in body["FailureReason"]
    assert local.alarms.queries[0] == ["axon-iris-5xx"]


def test_a_new_fleet_that_turns_unhealthy_while_baking_rolls_back(local: Local) -> None:
    local.fleet.unhealthy_from["cfg-v2"] = local.clock.now() + 10
    _update(local, _blue_green("ALL_AT_ONCE", 60))
    body = local.describe()
    assert (body["EndpointConfigName"], body["FailureReason"]) == ("cfg-v1", "replica exited")


def test_exceeding_the_maximum_execution_time_rolls_back(local: Local) -> None:
    config = _blue_green("ALL_AT_ONCE", 60)
    config["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] = 600
    local.fleet.launch_seconds["cfg-v2"] = 650  # the new fleet takes longer to start than the whole budget
    _update(local, config)
    body = local.describe()
    assert body["EndpointConfigName"] == "cfg-v1"
    assert "MaximumExecutionTimeoutInSeconds" in body["FailureReason"]


def test_retain_all_variant_properties_keeps_live_counts_and_weights(local: Local) -> None:
    local.endpoint(count=3)
    local.api(
        "UpdateEndpointWeightsAndCapacities",
        EndpointName="axon-iris",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
    )
    local.model("model-cfg-v2")
    local.config("cfg-v2", "model-cfg-v2", count=1)
    local.api("UpdateEndpoint", EndpointName="axon-iris", EndpointConfigName="cfg-v2", RetainAllVariantProperties=True)
    assert local.fleet.kinds("launch")[-1] == ("cfg-v2", [("AllTraffic", 3)])
    variant = local.describe()["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["CurrentWeight"]) == (3, 2.0)


def test_retain_deployment_config_reuses_the_last_one(local: Local) -> None:
    config = _blue_green("CANARY", 5, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 50})
    _update(local, config)
    local.model("model-cfg-v3")
    local.config("cfg-v3", "model-cfg-v3", count=4)
    start = local.clock.now()
    local.api("UpdateEndpoint", EndpointName="axon-iris", EndpointConfigName="cfg-v3", RetainDeploymentConfig=True)
    assert [s for t, s in local.fleet.routes() if t >= start] == [[("cfg-v2", 0.5), ("cfg-v3", 0.5)], [("cfg-v3", 1.0)]]


def test_weights_and_capacities_scale_and_reroute(local: Local) -> None:
    local.endpoint(count=1)
    local.api(
        "UpdateEndpointWeightsAndCapacities",
        EndpointName="axon-iris",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 3, "DesiredWeight": 0.5}],
    )
    assert local.fleet.kinds("scale") == [("AllTraffic", 3)]
    assert local.fleet.calls[-1][2] == [("cfg-v1", 1.0, {"AllTraffic": 0.5})]
    variant = local.describe()["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"], variant["CurrentWeight"]) == (3, 3, 0.5)


def test_a_failed_scale_rolls_back_to_the_previous_capacity(local: Local) -> None:
    local.model("m")
    local.api(
        "CreateEndpointConfig",
        EndpointConfigName="cfg-v1",
        ProductionVariants=[
            {"VariantName": name, "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            for name in ("a", "b")
        ],
    )
    local.api("CreateEndpoint", EndpointName="axon-iris", EndpointConfigName="cfg-v1")
    local.fleet.scale_failures[("b", 5)] = "new instances did not pass ping"
    statuses: list[str] = []
    original_scale = local.fleet.scale

    def scale(fleet_id: str, variant: str, count: int) -> None:
        statuses.append(local.describe()["EndpointStatus"])
        original_scale(fleet_id, variant, count)

    local.fleet.scale = scale  # type: ignore[method-assign]
    local.api(
        "UpdateEndpointWeightsAndCapacities",
        EndpointName="axon-iris",
        DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredInstanceCount": 2},
            {"VariantName": "b", "DesiredInstanceCount": 5},
        ],
    )
    assert local.fleet.kinds("scale") == [("a", 2), ("b", 5), ("a", 1)]
    assert statuses == ["Updating", "Updating", "RollingBack"]
    body = local.describe()
    assert body["EndpointStatus"] == "InService" and body["FailureReason"] == "new instances did not pass ping"
    assert [(v["CurrentInstanceCount"], v["DesiredInstanceCount"]) for v in body["ProductionVariants"]] == [
        (1, 1),
        (1, 1),
    ]


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ([{"VariantName": "nope", "DesiredWeight": 1.0}], "not present in the endpoint"),
        ([{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}], "at least 1"),
    ],
)
def test_weights_and_capacities_refusals(local: Local, desired: list[dict[str, Any]], message: str) -> None:
    local.endpoint()
    with pytest.raises(ApiError, match=message):
        local.api("UpdateEndpointWeightsAndCapacities", EndpointName="axon-iris", DesiredWeightsAndCapacities=desired)
    assert local.describe()["EndpointStatus"] == "InService"


def test_an_async_endpoint_scales_to_zero_instances_and_back(local: Local) -> None:
    """SageMaker async endpoints may have no instance (requests wait in the queue); real-time ones may not."""
    local.model("model-async")
    local.api(
        "CreateEndpointConfig",
        EndpointConfigName="cfg-async",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-async",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://axon-models/results/jobs/"}},
    )
    local.api("CreateEndpoint", EndpointName="axon-jobs", EndpointConfigName="cfg-async")
    for count in (0, 1):
        local.api(
            "UpdateEndpointWeightsAndCapacities",
            EndpointName="axon-jobs",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": count}],
        )
        [variant] = local.describe("axon-jobs")["ProductionVariants"]
        assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (count, count)
    assert local.fleet.kinds("scale") == [("AllTraffic", 0), ("AllTraffic", 1)]
