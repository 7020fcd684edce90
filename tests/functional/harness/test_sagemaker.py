"""Patch 4: moto's SageMaker is the local emulator: blue/green UpdateEndpoint, Creating, fleet failures, alarm
rollbacks, weights, instance types."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from axon_local.patches import moto_patches, sagemaker_fleet
from tests.functional.harness.conftest import client

ENDPOINT = "axon-iris"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"


@pytest.fixture
def sagemaker(aws: None) -> Any:
    sagemaker_client = client("sagemaker")
    for version in ("v1", "v2"):
        sagemaker_client.create_model(
            ModelName=version, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "serving:latest"}
        )
    create_config(sagemaker_client, "v1", "ml.m5.large", instances=2)
    create_config(sagemaker_client, "v2", "ml.g5.xlarge", instances=4)
    sagemaker_client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v1")
    assert settled(sagemaker_client)["EndpointStatus"] == "InService"
    return sagemaker_client


def create_config(client: Any, name: str, instance_type: str, instances: int, variant: str | None = None) -> None:
    """A one-variant config of model ``v1`` or ``v2`` (the name's prefix); the variant is named after the config."""
    client.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant or name,
                "ModelName": name[:2],
                "InstanceType": instance_type,
                "InitialInstanceCount": instances,
                "InitialVariantWeight": 1.0,
            }
        ],
    )


def blue_green(routing: dict[str, Any], alarms: tuple[str, ...] = ()) -> dict[str, Any]:
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config


def settled(client: Any, name: str = ENDPOINT) -> dict[str, Any]:
    """DescribeEndpoint once the endpoint's operation has ended (the emulator runs it on a worker thread)."""
    deadline = time.monotonic() + 10
    while True:
        endpoint: dict[str, Any] = client.describe_endpoint(EndpointName=name)
        if endpoint["EndpointStatus"] not in ("Creating", "Updating") or time.monotonic() > deadline:
            return endpoint
        time.sleep(0.01)


def routes_since_creation() -> list[list[tuple[str, float]]]:
    """The traffic split of each route after the endpoint's creation: [(config, share of the endpoint)]."""
    return [shares for _, shares in sagemaker_fleet().routes()[1:]]


@pytest.mark.parametrize(
    ("routing", "shares"),
    [
        ({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, [1.0]),
        (
            {"Type": "CANARY", "WaitIntervalInSeconds": 600, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
            [0.1, 1.0],
        ),
        (
            {"Type": "CANARY", "WaitIntervalInSeconds": 600, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}},
            [0.25, 1.0],
        ),
        (
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 300,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            [0.25, 0.5, 0.75, 1.0],
        ),
    ],
)
def test_update_endpoint_shows_the_strategys_traffic_steps_then_the_new_config(
    sagemaker: Any, routing: dict[str, Any], shares: list[float]
) -> None:
    deployment_config = blue_green(routing)
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2", DeploymentConfig=deployment_config)

    final = settled(sagemaker)

    assert [dict(split)["v2"] for split in routes_since_creation()] == shares
    assert final["EndpointStatus"] == "InService" and final["EndpointConfigName"] == "v2"
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in final["ProductionVariants"]] == [("v2", 4)]
    assert final["LastDeploymentConfig"] == deployment_config
    assert "FailureReason" not in final


def test_a_pending_deployment_names_the_new_config_and_its_fleet(sagemaker: Any) -> None:
    sagemaker_fleet().hold_launches()
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")

    creating = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    sagemaker_fleet().release()

    assert creating["EndpointConfigName"] == "v1", "the old config serves until the switch"
    pending = creating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "v2" and pending["StartTime"]
    (variant,) = pending["ProductionVariants"]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == ("v2", 0, 4)


def test_an_alarm_in_alarm_rolls_back_at_the_canary_and_ends_in_service_on_the_old_config(sagemaker: Any) -> None:
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="axon-iris-5xx",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="axon-iris-5xx", StateValue="ALARM", StateReason="5XX on v2")
    canary = {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20}}
    sagemaker.update_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName="v2", DeploymentConfig=blue_green(canary, ("axon-iris-5xx",))
    )

    final = settled(sagemaker)

    assert routes_since_creation() == [[("v1", 0.8), ("v2", 0.2)], [("v1", 1.0)]]
    assert final["EndpointStatus"] == "InService" and final["EndpointConfigName"] == "v1"
    assert [v["VariantName"] for v in final["ProductionVariants"]] == ["v1"]
    assert "axon-iris-5xx" in final["FailureReason"]


def test_a_fleet_that_fails_to_launch_never_takes_traffic_and_keeps_the_old_config(sagemaker: Any) -> None:
    sagemaker_fleet().fail_next_launch(ENDPOINT, "new fleet failed /ping")
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")

    final = settled(sagemaker)

    assert routes_since_creation() == []
    assert (final["EndpointStatus"], final["EndpointConfigName"]) == ("InService", "v1")
    assert final["FailureReason"] == "new fleet failed /ping"
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")
    assert settled(sagemaker)["EndpointConfigName"] == "v2", "a launch failure applies to one launch only"


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_update_endpoint_validates_as_sagemaker_does(sagemaker: Any) -> None:
    update = sagemaker.update_endpoint
    assert error_code(update, EndpointName="axon-nope", EndpointConfigName="v2") == "ValidationException"
    assert error_code(update, EndpointName=ENDPOINT, EndpointConfigName="nope") == "ValidationException"
    too_big = {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 60}}
    kwargs = {"EndpointName": ENDPOINT, "EndpointConfigName": "v2"}
    assert error_code(update, **kwargs, DeploymentConfig=blue_green(too_big)) == "ValidationException"
    no_step = {"Type": "LINEAR", "WaitIntervalInSeconds": 60}
    assert error_code(update, **kwargs, DeploymentConfig=blue_green(no_step)) == "ValidationException"

    sagemaker_fleet().hold_launches()
    update(**kwargs)
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Updating"
    assert error_code(update, **kwargs) == "ValidationException", "an endpoint that is not InService"
    weights = [{"VariantName": "v1", "DesiredWeight": 1.0}]
    assert (
        error_code(
            sagemaker.update_endpoint_weights_and_capacities, EndpointName=ENDPOINT, DesiredWeightsAndCapacities=weights
        )
        == "ValidationException"
    )
    sagemaker_fleet().release()


def test_weights_and_capacities_keeps_what_the_request_leaves_out(sagemaker: Any) -> None:
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredWeight": 0.5}]
    )
    settled(sagemaker)
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredInstanceCount": 3}]
    )

    (variant,) = settled(sagemaker)["ProductionVariants"]
    assert (variant["CurrentWeight"], variant["CurrentInstanceCount"]) == (0.5, 3)


def test_retain_all_variant_properties_keeps_a_same_named_variants_capacity(sagemaker: Any) -> None:
    create_config(sagemaker, "v1-patch", "ml.m5.large", instances=1, variant="v1")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredInstanceCount": 5}]
    )
    settled(sagemaker)

    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v1-patch", RetainAllVariantProperties=True)

    (variant,) = settled(sagemaker)["ProductionVariants"]
    assert variant["CurrentInstanceCount"] == 5


def test_new_gpu_and_inferentia_instance_types_are_accepted_unknown_ones_refused(sagemaker: Any) -> None:
    for index, instance_type in enumerate(("ml.g6.xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge", "ml.inf2.xlarge")):
        create_config(sagemaker, f"v1-gpu-{index}", instance_type, instances=1)
    assert (
        error_code(
            sagemaker.create_endpoint_config,
            EndpointConfigName="bogus",
            ProductionVariants=[
                {"VariantName": "a", "ModelName": "v1", "InstanceType": "ml.bogus.xlarge", "InitialInstanceCount": 1}
            ],
        )
        == "ValidationException"
    )


def test_a_create_shows_creating_until_its_fleet_passes_ping_or_fails_with_the_fleets_reason() -> None:
    with mock_aws(), moto_patches():
        sagemaker_client = client("sagemaker")
        sagemaker_client.create_model(ModelName="v1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "serving:1"})
        create_config(sagemaker_client, "v1", "ml.m5.large", instances=1)

        sagemaker_fleet().hold_launches()
        sagemaker_client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v1")
        assert sagemaker_client.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "Creating"
        sagemaker_fleet().release()
        assert settled(sagemaker_client)["EndpointStatus"] == "InService"

        sagemaker_fleet().fail_next_launch("axon-broken", "image pull failed")
        sagemaker_client.create_endpoint(EndpointName="axon-broken", EndpointConfigName="v1")
        failed = settled(sagemaker_client, "axon-broken")
        assert (failed["EndpointStatus"], failed["FailureReason"]) == ("Failed", "image pull failed")


def test_models_and_configs_are_listed_and_other_operations_stay_motos(sagemaker: Any) -> None:
    assert [m["ModelName"] for m in sagemaker.list_models(NameContains="v", SortBy="Name")["Models"]] == ["v2", "v1"]
    configs = sagemaker.list_endpoint_configs(SortBy="Name", SortOrder="Ascending")["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == ["v1", "v2"]
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
