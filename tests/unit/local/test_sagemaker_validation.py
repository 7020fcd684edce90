"""Requests AWS refuses are refused, with the service model's rules and SageMaker's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from axon_local.sagemaker import SageMakerEmulator, SageMakerProtocol
from axon_local.sagemaker.protocol import service_model, shape_output
from axon_local.sagemaker.traffic import plan_rollout
from tests.unit.local.conftest import IMAGE, ApiError, Local


def _routing(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": kind, "WaitIntervalInSeconds": 0, **fields}}
    }


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        ("CreateModel", {"ModelName": "m", "Bogus": 1}, 'Unknown parameter in input: "Bogus"'),
        ("CreateEndpoint", {"EndpointName": "e"}, 'Missing required parameter in input: "EndpointConfigName"'),
        (
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "m", "InitialInstanceCount": "2"}],
            },
            "Invalid type for parameter ProductionVariants[0].InitialInstanceCount",
        ),
        (
            "CreateEndpointConfig",
            {"EndpointConfigName": "c", "ProductionVariants": []},
            "Invalid length for parameter ProductionVariants",
        ),
        (
            "DescribeEndpoint",
            {"EndpointName": "bad_name"},
            "Value 'bad_name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression",
        ),
        ("DescribeEndpoint", {"EndpointName": "x" * 64}, "Member must have length less than or equal to 63"),
        (
            "UpdateEndpoint",
            {"EndpointName": "e", "EndpointConfigName": "c", "DeploymentConfig": _routing("FOO")},
            "Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]",
        ),
        (
            "UpdateEndpoint",
            {
                "EndpointName": "e",
                "EndpointConfigName": "c",
                "DeploymentConfig": {
                    "BlueGreenUpdatePolicy": {
                        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 3601}
                    }
                },
            },
            "Member must have value less than or equal to 3600",
        ),
        (
            "UpdateEndpoint",
            {
                "EndpointName": "e",
                "EndpointConfigName": "c",
                "DeploymentConfig": {
                    "BlueGreenUpdatePolicy": {
                        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                        "MaximumExecutionTimeoutInSeconds": 599,
                    }
                },
            },
            "valid min value: 600",
        ),
        (
            "UpdateEndpoint",
            {
                "EndpointName": "e",
                "EndpointConfigName": "c",
                "DeploymentConfig": {
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"a{i}"} for i in range(11)]}
                },
            },
            "Member must have length less than or equal to 10",
        ),
    ],
)
def test_requests_outside_the_service_model_are_refused(
    local: Local, operation: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiError) as error:
        local.api(operation, **params)
    assert (error.value.status, error.value.code) == (400, "ValidationException")
    assert message in error.value.message


def test_several_constraint_failures_are_reported_together(local: Local) -> None:
    with pytest.raises(ApiError, match="2 validation errors detected"):
        local.api("DescribeEndpointConfig", EndpointConfigName="bad_name_" + "x" * 60)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda loc: loc.model("m1") or loc.model("m1"), 'Cannot create already existing model "arn:aws:sagemaker:'),
        (lambda loc: loc.api("CreateModel", ModelName="m"), "Either PrimaryContainer or Containers"),
        (
            lambda loc: loc.api("CreateModel", ModelName="m", Containers=[{"Image": IMAGE}, {"Image": IMAGE}]),
            "single-container models only",
        ),
        (
            lambda loc: loc.config("c", "missing"),
            'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model',
        ),
        (
            lambda loc: (
                loc.model("m")
                or loc.api(
                    "CreateEndpointConfig",
                    EndpointConfigName="c",
                    ProductionVariants=[{"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1}] * 2,
                )
            ),
            "must be unique",
        ),
        (
            lambda loc: (
                loc.model("m")
                or loc.api(
                    "CreateEndpointConfig",
                    EndpointConfigName="c",
                    ProductionVariants=[{"VariantName": "v", "ModelName": "m"}],
                )
            ),
            "InitialInstanceCount is required",
        ),
        (
            lambda loc: loc.model("m") or loc.config("c", "m") or loc.config("c", "m"),
            "Cannot create already existing endpoint configuration",
        ),
        (
            lambda loc: loc.api("CreateEndpoint", EndpointName="e", EndpointConfigName="nope"),
            "Could not find endpoint configuration",
        ),
        (lambda loc: loc.endpoint("e", "c1") or loc.endpoint("e", "c2"), "Cannot create already existing endpoint"),
        (
            lambda loc: loc.api("UpdateEndpoint", EndpointName="e", EndpointConfigName="c"),
            'Could not find endpoint "e".',
        ),
        (lambda loc: loc.api("DeleteEndpoint", EndpointName="e"), 'Could not find endpoint "e".'),
        (
            lambda loc: (
                loc.endpoint("e", "c1") or loc.api("UpdateEndpoint", EndpointName="e", EndpointConfigName="nope")
            ),
            "Could not find endpoint configuration",
        ),
    ],
)
def test_semantic_refusals_are_validation_exceptions(local: Local, build: Any, message: str) -> None:
    with pytest.raises(ApiError) as error:
        build(local)
    assert error.value.code == "ValidationException"
    assert message in error.value.message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 0,
                }
            },
            "RollingUpdatePolicy is not supported",
        ),
        (
            {
                **_routing("ALL_AT_ONCE"),
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 0,
                },
            },
            "Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy",
        ),
        (_routing("CANARY"), "CanarySize must be specified"),
        (_routing("CANARY", CanarySize={"Type": "INSTANCE_COUNT", "Value": 3}), "less than or equal to 50%"),
        (_routing("CANARY", CanarySize={"Type": "CAPACITY_PERCENT", "Value": 60}), "less than or equal to 50%"),
        (_routing("LINEAR"), "LinearStepSize must be specified"),
        (_routing("LINEAR", LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 5}), "between 10% and 50%"),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
                    "TerminationWaitInSeconds": 100,
                    "MaximumExecutionTimeoutInSeconds": 650,
                }
            },
            "must be greater than the sum of the wait intervals",
        ),
    ],
)
def test_deployment_configs_aws_refuses(local: Local, config: dict[str, Any], message: str) -> None:
    local.endpoint(count=4)
    local.model("m2")
    local.config("c2", "m2", count=4)
    with pytest.raises(ApiError, match=message):
        local.api("UpdateEndpoint", EndpointName="axon-iris", EndpointConfigName="c2", DeploymentConfig=config)
    body = local.describe()
    assert body["EndpointStatus"] == "InService" and body["EndpointConfigName"] == "cfg-v1"


def test_plan_without_a_blue_green_policy_is_all_at_once() -> None:
    plan = plan_rollout({"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}}, 2)
    assert [(s.green_fraction, s.bake_seconds) for s in plan.steps] == [(1.0, 0.0)]


def test_linear_steps_that_do_not_divide_evenly_end_at_full_traffic() -> None:
    plan = plan_rollout(_routing("LINEAR", LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 2}), 6)
    assert [round(s.green_fraction, 4) for s in plan.steps] == [0.3333, 0.6667, 1.0]


def test_malformed_json_and_non_object_bodies(local: Local) -> None:
    response = local.protocol.handle("SageMaker.DescribeEndpoint", b"{not json")
    assert response.status == 400 and json.loads(response.body)["__type"] == "SerializationException"
    response = local.protocol.handle("SageMaker.DescribeEndpoint", b"[]")
    assert json.loads(response.body) == {
        "__type": "ValidationException",
        "message": "Request body must be a JSON object.",
    }


def test_unexpected_errors_are_internal_failures(local: Local) -> None:
    class Broken(SageMakerEmulator):
        def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("boom")

    protocol = SageMakerProtocol(Broken(local.fleet, local.alarms, local.clock))
    response = protocol.handle("SageMaker.ListEndpoints", b"{}")
    assert response.status == 500 and json.loads(response.body)["__type"] == "InternalFailure"


def test_only_emulated_operations_are_handled(local: Local) -> None:
    assert local.protocol.handles("SageMaker.DescribeEndpoint")
    assert not local.protocol.handles("SageMaker.CreateTrainingJob")
    assert not local.protocol.handles("DynamoDB_20120810.GetItem")
    assert not local.protocol.handles(None)


def test_responses_are_cut_to_the_output_shape() -> None:
    shape = service_model().operation_model("DescribeEndpoint").output_shape
    assert shape is not None
    shaped = shape_output(
        {
            "EndpointName": "e",
            "Extra": 1,
            "FailureReason": None,
            "CreationTime": 5,
            "ProductionVariants": [{"VariantName": "v", "Junk": True}],
        },
        shape,
    )
    assert shaped == {"EndpointName": "e", "CreationTime": 5.0, "ProductionVariants": [{"VariantName": "v"}]}
