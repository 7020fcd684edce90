"""Patches 4 and 5: blue/green UpdateEndpoint, Creating, forced outcomes, weights, instance types."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from axon_local.patches import moto_patches, sagemaker_outcomes
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


def progression(client: Any, limit: int = 20) -> tuple[list[tuple[str, str, float]], dict[str, Any]]:
    """(endpoint status, new fleet status, new fleet traffic share) per DescribeEndpoint until InService."""
    seen: list[tuple[str, str, float]] = []
    for _ in range(limit):
        endpoint = client.describe_endpoint(EndpointName=ENDPOINT)
        pending = endpoint.get("PendingDeploymentSummary")
        if pending is None:
            assert endpoint["EndpointStatus"] in ("InService", "Failed")
            return seen, endpoint
        variant = pending["ProductionVariants"][0]
        share = variant["CurrentWeight"] / variant["DesiredWeight"]
        seen.append((endpoint["EndpointStatus"], variant["VariantStatus"][0]["Status"], share))
    raise AssertionError(f"no final state after {limit} DescribeEndpoint calls: {seen}")


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

    seen, final = progression(sagemaker)

    assert seen == [("Updating", "Creating", 0.0)] + [("Updating", "Baking", share) for share in shares]
    assert final["EndpointStatus"] == "InService" and final["EndpointConfigName"] == "v2"
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in final["ProductionVariants"]] == [("v2", 4)]
    assert final["LastDeploymentConfig"] == deployment_config
    assert "FailureReason" not in final


def test_a_pending_deployment_names_the_new_config_and_its_fleet(sagemaker: Any) -> None:
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")

    creating = sagemaker.describe_endpoint(EndpointName=ENDPOINT)

    assert creating["EndpointConfigName"] == "v1", "the old config serves until the switch"
    pending = creating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "v2" and pending["StartTime"]
    (variant,) = pending["ProductionVariants"]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == ("v2", 0, 4)


def test_a_forced_rollback_reaches_the_canary_then_ends_in_service_on_the_old_config(sagemaker: Any) -> None:
    canary = {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20}}
    sagemaker_outcomes.next_update(ENDPOINT, "rolled_back")
    sagemaker.update_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName="v2", DeploymentConfig=blue_green(canary, ("axon-iris-5xx",))
    )

    seen, final = progression(sagemaker)

    assert seen == [("Updating", "Creating", 0.0), ("Updating", "Baking", 0.2), ("Updating", "Deleting", 0.0)]
    assert final["EndpointStatus"] == "InService" and final["EndpointConfigName"] == "v1"
    assert [v["VariantName"] for v in final["ProductionVariants"]] == ["v1"]
    assert "axon-iris-5xx" in final["FailureReason"]


def test_a_forced_failure_never_takes_traffic_and_keeps_the_old_config(sagemaker: Any) -> None:
    sagemaker_outcomes.next_update(ENDPOINT, "failed", reason="new fleet failed /ping")
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")

    seen, final = progression(sagemaker)

    assert seen == [("Updating", "Creating", 0.0)]
    assert (final["EndpointStatus"], final["EndpointConfigName"]) == ("InService", "v1")
    assert final["FailureReason"] == "new fleet failed /ping"
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")
    assert progression(sagemaker)[1]["EndpointConfigName"] == "v2", "a forced outcome applies to one update only"


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


def test_weights_and_capacities_keeps_what_the_request_leaves_out(sagemaker: Any) -> None:
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredWeight": 0.5}]
    )
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredInstanceCount": 3}]
    )

    (variant,) = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
    assert (variant["CurrentWeight"], variant["CurrentInstanceCount"]) == (0.5, 3)


def test_retain_all_variant_properties_keeps_a_same_named_variants_capacity(sagemaker: Any) -> None:
    create_config(sagemaker, "v1-patch", "ml.m5.large", instances=1, variant="v1")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "v1", "DesiredInstanceCount": 5}]
    )

    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v1-patch", RetainAllVariantProperties=True)

    (variant,) = progression(sagemaker)[1]["ProductionVariants"]
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


def test_step_counts_are_configurable_and_a_create_can_be_forced_to_fail() -> None:
    with mock_aws(), moto_patches(endpoint_create_steps=2, describes_per_update_step=2):
        sagemaker_client = client("sagemaker")
        for version in ("v1", "v2"):
            sagemaker_client.create_model(
                ModelName=version, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "serving:latest"}
            )
            create_config(sagemaker_client, version, "ml.m5.large", instances=1)

        sagemaker_client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v1")
        statuses = [sagemaker_client.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] for _ in range(3)]
        assert statuses == ["Creating", "Creating", "InService"]
        sagemaker_client.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v2")
        seen, final = progression(sagemaker_client)
        assert seen == [("Updating", "Creating", 0.0)] * 2 + [("Updating", "Baking", 1.0)] * 2
        assert final["EndpointConfigName"] == "v2"

        sagemaker_outcomes.fail_next_create("axon-broken", reason="image pull failed")
        sagemaker_client.create_endpoint(EndpointName="axon-broken", EndpointConfigName="v1")
        described = [sagemaker_client.describe_endpoint(EndpointName="axon-broken") for _ in range(3)]
        assert [endpoint["EndpointStatus"] for endpoint in described] == ["Creating", "Creating", "Failed"]
        assert described[-1]["FailureReason"] == "image pull failed"
