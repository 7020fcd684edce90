"""Pure builders of SageMaker request bodies (no boto3): unit-tested as dict equality."""

from __future__ import annotations

from typing import Any

from axon import names
from axon.platforms.alarms import RollbackAlarmMetrics, rollback_alarm_requests
from axon.platforms.base import VersionRef
from axon.spec import RolloutSpec

# UpdateEndpoint's MaximumExecutionTimeoutInSeconds must lie in 600-28800 and exceed the sum of the waits.
_MIN_EXECUTION_TIMEOUT = 600
_MAX_EXECUTION_TIMEOUT = 28_800
# Time we allow SageMaker to provision a fleet and pass health checks, on top of the bake waits.
_PROVISIONING_ALLOWANCE = 1_800


def model_request(version: VersionRef, execution_role_arn: str) -> dict[str, Any]:
    """The version's model; it runs as the API's own role when there is one (``version.role_arn``)."""
    return {
        "ModelName": names.model_name(version.api, version.label),
        "ExecutionRoleArn": version.role_arn or execution_role_arn,
        "PrimaryContainer": {
            "Image": version.image_uri,
            "ModelDataUrl": version.model_data_uri,
            "Environment": version.replica_environment(),
        },
        "Tags": [{"Key": "axon:api", "Value": version.api}, {"Key": "axon:version", "Value": version.label}],
    }


def endpoint_config_request(version: VersionRef, instance_count: int) -> dict[str, Any]:
    return {
        "EndpointConfigName": names.endpoint_config_name(version.api, version.label),
        "ProductionVariants": [
            {
                "VariantName": names.VARIANT_NAME,
                "ModelName": names.model_name(version.api, version.label),
                "InitialInstanceCount": instance_count,
                "InstanceType": version.spec.compute.instance_type,
                "InitialVariantWeight": 1.0,
            }
        ],
        "Tags": [{"Key": "axon:api", "Value": version.api}, {"Key": "axon:version", "Value": version.label}],
    }


def traffic_routing(rollout: RolloutSpec) -> dict[str, Any]:
    """``rollout.strategy`` -> SageMaker ``TrafficRoutingConfig``; ``bake_seconds`` is the wait between steps."""
    routing: dict[str, Any] = {"WaitIntervalInSeconds": rollout.bake_seconds}
    if rollout.strategy == "canary":
        # SageMaker caps a canary at 50 % of the fleet.
        routing |= {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": min(rollout.canary_percent, 50)},
        }
    elif rollout.strategy == "linear":
        # SageMaker accepts linear steps of 10-50 % of the fleet.
        step = min(max(rollout.linear_step_percent, 10), 50)
        routing |= {"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": step}}
    else:
        routing["Type"] = "ALL_AT_ONCE"
    return routing


def deployment_config(rollout: RolloutSpec, alarm_names: list[str]) -> dict[str, Any]:
    timeout = rollout.total_bake_seconds + _PROVISIONING_ALLOWANCE
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic_routing(rollout),
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": min(max(timeout, _MIN_EXECUTION_TIMEOUT), _MAX_EXECUTION_TIMEOUT),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
    }


def update_endpoint_request(version: VersionRef, alarm_names: list[str]) -> dict[str, Any]:
    return {
        "EndpointName": names.endpoint_name(version.api),
        "EndpointConfigName": names.endpoint_config_name(version.api, version.label),
        "DeploymentConfig": deployment_config(version.spec.rollout, alarm_names),
    }


def rollback_update_request(previous: VersionRef) -> dict[str, Any]:
    """Blue-green, all at once, back to the previous version's config (after a failed smoke test)."""
    return {
        "EndpointName": names.endpoint_name(previous.api),
        "EndpointConfigName": names.endpoint_config_name(previous.api, previous.label),
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "MaximumExecutionTimeoutInSeconds": _MIN_EXECUTION_TIMEOUT + _PROVISIONING_ALLOWANCE,
            }
        },
    }


def alarm_requests(version: VersionRef) -> list[dict[str, Any]]:
    """The per-API alarms SageMaker watches during a deployment; they roll the update back automatically.

    Both watch only the new fleet (``EndpointConfigName`` dimension), so a noisy old fleet cannot stop a rollout.
    ``ModelLatency`` is in microseconds.
    """
    source = RollbackAlarmMetrics(
        namespace="AWS/SageMaker",
        dimensions=[
            {"Name": "EndpointName", "Value": names.endpoint_name(version.api)},
            {"Name": "VariantName", "Value": names.VARIANT_NAME},
            {"Name": "EndpointConfigName", "Value": names.endpoint_config_name(version.api, version.label)},
        ],
        errors_metric="Invocation5XXErrors",
        latency_metric="ModelLatency",
        latency_unit_per_second=1_000_000,
    )
    return rollback_alarm_requests(version, source, f"the new fleet of {version.api}")
