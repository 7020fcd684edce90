"""Pure builders of SageMaker request bodies (no boto3): unit-tested as dict equality."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class AsyncTopics:
    """An async API's SNS topics (``names.async_topic_name``), by ARN."""

    success: str
    error: str


def async_inference_config(version: VersionRef, models_bucket: str, topics: AsyncTopics) -> dict[str, Any]:
    """``AsyncInferenceConfig`` of an async API: answers under ``results/<api>/``, failures under its
    ``failures/`` folder, each outcome notified on the API's own topic, and the per-replica concurrency."""
    notification: dict[str, Any] = {"SuccessTopic": topics.success, "ErrorTopic": topics.error}
    if version.spec.async_.include_response_in_notification:
        notification["IncludeInferenceResponseIn"] = ["SUCCESS_NOTIFICATION_TOPIC"]
    return {
        "OutputConfig": {
            "S3OutputPath": f"s3://{models_bucket}/{names.async_output_prefix(version.api)}",
            "S3FailurePath": f"s3://{models_bucket}/{names.async_failure_prefix(version.api)}",
            "NotificationConfig": notification,
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": version.spec.max_concurrent_invocations_per_instance},
    }


def endpoint_config_request(
    version: VersionRef, instance_count: int, async_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The version's endpoint config; an async API's carries its ``AsyncInferenceConfig``."""
    extra = {"AsyncInferenceConfig": async_config} if async_config is not None else {}
    return {
        **extra,
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
