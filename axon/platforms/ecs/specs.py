"""Pure builders of ECS, ELBv2 and CloudWatch request bodies for the ECS platform (no boto3): dict-equality tested.

Every name a version owns is derived here from ``(api, label)``, so any Lambda invocation can find the resources
of a rollout again without keeping state of its own.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from axon import names
from axon.platforms.alarms import RollbackAlarmMetrics, rollback_alarm_requests
from axon.platforms.base import VersionRef
from axon.platforms.ecs.config import EcsConfig, JwtAuth

CONTAINER_NAME = "serving"
CONTAINER_PORT = 8080  # the serving runtime's port (SageMaker's container contract)
HEALTH_CHECK_PATH = "/ping"
VERSION_HEADER = "X-Axon-Version"  # the test rule sends requests carrying it to the new version only...
TEST_TOKEN_HEADER = "X-Axon-Test-Token"  # noqa: S105 (a header name) ...and the rollout's secret, kept in the rule
ROUTED_PATH = "invocations"  # the one runtime path the ALB routes (SageMaker's; not /ping, not /metrics)
# Tags: what an API's resources are, and the rollout's progress, kept on the new version's target group so that
# every CheckDeployment invocation reads it back from AWS (a Lambda keeps nothing between polls).
TAG_API = "axon:api"
TAG_VERSION = "axon:version"
TAG_SHIFT = "axon:shift"  # "<percent>@<epoch seconds>": the weight last set, and when (the bake clock)
TAG_SMOKE = "axon:smoke-passed"  # "true" once the smoke test passed: traffic moves only after that
# Soft memory limit per task: GPUs are what bounds placement on g5/g6 hosts; the container may use more memory.
MEMORY_RESERVATION_MIB = 2048
# Time ECS ignores failing load-balancer health checks after a task starts: the runtime downloads the bundle and
# loads the model first (GPU models take minutes).
HEALTH_CHECK_GRACE_SECONDS = 600
# ALB: a target counts as healthy after 2 good checks 15 s apart, unhealthy after 3 bad ones.
_HEALTH = {"interval": 15, "timeout": 5, "healthy": 2, "unhealthy": 3}
# Seconds the ALB lets in-flight requests finish on a target being removed (blue after a rollout).
DEREGISTRATION_DELAY_SECONDS = 30
_TARGET_GROUP_NAME_LIMIT = 32
_LABEL_RE = re.compile(r"^[A-Za-z0-9_]+$")


# ---- names ----------------------------------------------------------------------------------------------------


def service_name(api: str, label: str) -> str:
    """One ECS service per version: ``axon-<api>-<label>``."""
    return f"{names.endpoint_name(api)}-{label}"


def task_family(api: str, label: str) -> str:
    """One task-definition family per version, so removing a version deregisters exactly its revisions."""
    return service_name(api, label)


def label_of(api: str, name: str) -> str | None:
    """``axon-<api>-<label>`` -> ``<label>``; ``None`` for another API's name (labels hold no ``-``)."""
    prefix = f"{names.endpoint_name(api)}-"
    label = name[len(prefix) :] if name.startswith(prefix) else ""
    return label if _LABEL_RE.match(label) else None


def target_group_name(api: str, label: str) -> str:
    """Target group names are capped at 32 characters: a readable prefix, the label, and a hash of both.

    Examples
    --------
    >>> target_group_name("iris", "v3")
    'ax-iris-v3-a0d275'
    """
    digest = hashlib.sha256(f"{api}/{label}".encode()).hexdigest()[:6]
    suffix = f"-{label}-{digest}"
    return f"{names.TARGET_GROUP_PREFIX}{api}"[: _TARGET_GROUP_NAME_LIMIT - len(suffix)].rstrip("-") + suffix


def arn_resource(arn: str) -> str:
    """The part of an ELBv2 ARN CloudWatch dimensions use: ``targetgroup/<name>/<id>``, ``app/<lb>/<id>``."""
    return arn.split(":", 5)[5]


def load_balancer_dimension(listener_arn: str) -> str:
    """``...:listener/app/<lb>/<id>/<listener-id>`` -> ``app/<lb>/<id>``."""
    return "/".join(arn_resource(listener_arn).split("/")[1:4])


def region_of(arn: str) -> str:
    return arn.split(":")[3]


# ---- task definition and service ------------------------------------------------------------------------------


def environment(version: VersionRef) -> dict[str, str]:
    """What the serving runtime reads: it downloads and safely extracts ``AXON_BUNDLE_URI`` when it starts."""
    return {**version.replica_environment(), "AXON_BUNDLE_URI": version.model_data_uri}


def task_definition_request(version: VersionRef, config: EcsConfig) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": version.image_uri,
        "essential": True,
        "memoryReservation": MEMORY_RESERVATION_MIB,
        "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment(version).items())],
        # The image's Docker HEALTHCHECK, which ECS ignores unless the task definition repeats it.
        "healthCheck": {
            "command": [
                "CMD",
                "python",
                "-c",
                f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{CONTAINER_PORT}"
                f"{HEALTH_CHECK_PATH}', timeout=2)",
            ],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 300,
        },
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": names.log_group(version.api),
                "awslogs-region": region_of(config.listener_arn),
                "awslogs-stream-prefix": version.label,
                "awslogs-create-group": "true",
            },
        },
    }
    if version.spec.compute.gpu > 0:
        container["resourceRequirements"] = [{"type": "GPU", "value": str(version.spec.compute.gpu)}]
    return {
        "family": task_family(version.api, version.label),
        "taskRoleArn": version.role_arn or config.task_role_arn,  # the API's own role (api_roles)
        "executionRoleArn": config.execution_role_arn,
        "networkMode": "awsvpc",
        # No requiresCompatibilities: the service's capacity provider places the task (EC2 is ECS's default), and
        # declaring EC2 would make a hard ``memory`` limit mandatory in moto, which AWS does not require.
        "containerDefinitions": [container],
        "tags": [{"key": TAG_API, "value": version.api}, {"key": TAG_VERSION, "value": version.label}],
    }


def service_request(
    version: VersionRef, config: EcsConfig, task_definition_arn: str, target_group_arn: str, desired: int
) -> dict[str, Any]:
    """The new version's service: on the capacity provider of ``compute.instance_type``, behind its target group.

    The circuit breaker stops a deployment whose tasks keep failing to start (``rolloutState`` FAILED) instead of
    retrying for ever; it does not roll back, because this service has no earlier revision to return to.
    """
    return {
        "cluster": config.cluster,
        "serviceName": service_name(version.api, version.label),
        "taskDefinition": task_definition_arn,
        "desiredCount": desired,
        "capacityProviderStrategy": [
            {"capacityProvider": config.capacity_providers[version.spec.compute.instance_type], "weight": 1}
        ],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(config.subnets),
                "securityGroups": list(config.security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        "loadBalancers": [
            {"targetGroupArn": target_group_arn, "containerName": CONTAINER_NAME, "containerPort": CONTAINER_PORT}
        ],
        "healthCheckGracePeriodSeconds": HEALTH_CHECK_GRACE_SECONDS,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "tags": [{"key": TAG_API, "value": version.api}, {"key": TAG_VERSION, "value": version.label}],
    }


def target_group_request(version: VersionRef, vpc_id: str) -> dict[str, Any]:
    return {
        "Name": target_group_name(version.api, version.label),
        "Protocol": "HTTP",
        "Port": CONTAINER_PORT,
        "VpcId": vpc_id,
        "TargetType": "ip",  # awsvpc tasks register by IP
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": HEALTH_CHECK_PATH,
        "HealthCheckIntervalSeconds": _HEALTH["interval"],
        "HealthCheckTimeoutSeconds": _HEALTH["timeout"],
        "HealthyThresholdCount": _HEALTH["healthy"],
        "UnhealthyThresholdCount": _HEALTH["unhealthy"],
        "Matcher": {"HttpCode": "200"},
        "Tags": [{"Key": TAG_API, "Value": version.api}, {"Key": TAG_VERSION, "Value": version.label}],
    }


def target_group_attributes_request(target_group_arn: str) -> dict[str, Any]:
    return {
        "TargetGroupArn": target_group_arn,
        "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_SECONDS)}],
    }


# ---- listener rules -------------------------------------------------------------------------------------------


def path_pattern(api: str) -> str:
    """Only the inference path is routed: the runtime's ``/metrics`` and ``/ping`` stay behind the ALB."""
    return f"/apis/{api}/{ROUTED_PATH}"


def legacy_path_pattern(api: str) -> str:
    """The pattern rules had before only ``/invocations`` was routed; recognised, and replaced on ModifyRule."""
    return f"/apis/{api}/*"


def production_conditions(api: str) -> list[dict[str, Any]]:
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": [path_pattern(api)]}}]


def test_conditions(api: str, label: str, token: str) -> list[dict[str, Any]]:
    """The production path plus ``X-Axon-Version: <label>`` and the rollout's secret ``X-Axon-Test-Token``:
    requests that reach the new version only, from whoever can read the rule (the control plane)."""
    return [
        *production_conditions(api),
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": VERSION_HEADER, "Values": [label]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": TEST_TOKEN_HEADER, "Values": [token]}},
    ]


def new_test_token() -> str:
    """128 random bits, lower-case hex: ALB header matching ignores case, and hex has no ``*``/``?`` wildcards."""
    return secrets.token_hex(16)


def header_condition(conditions: Sequence[dict[str, Any]], header: str) -> str | None:
    """The single value a rule's ``http-header`` condition on ``header`` matches (``None`` without one)."""
    for field, name, values in conditions_key(conditions):
        if field == "http-header" and name == header.lower() and len(values) == 1:
            return values[0]
    return None


def rewrite_transforms(api: str) -> list[dict[str, Any]]:
    """``/apis/<api>/invocations`` -> ``/invocations``: the runtime serves SageMaker's paths."""
    rewrite = {"Regex": f"^/apis/{re.escape(api)}/(.*)$", "Replace": "/$1"}
    return [{"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [rewrite]}}]


def auth_actions(auth: JwtAuth | None) -> list[dict[str, Any]]:
    """The ``jwt-validation`` action that runs before the forward, when the stack asks for authentication."""
    if auth is None:
        return []
    config: dict[str, Any] = {"JwksEndpoint": auth.jwks_endpoint, "Issuer": auth.issuer}
    if auth.scopes:
        config["AdditionalClaims"] = [{"Format": "space-separated-values", "Name": "scope", "Values": [*auth.scopes]}]
    return [{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": config}]


def forward_actions(weights: Sequence[tuple[str, int]], auth: JwtAuth | None = None) -> list[dict[str, Any]]:
    """One weighted forward action (after the JWT check, if any); a target group at weight 0 stays listed only
    while it is blue or green."""
    before = auth_actions(auth)
    forward: dict[str, Any] = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights]},
    }
    if before:
        forward["Order"] = len(before) + 1
    return [*before, forward]


def modify_rule_request(
    rule_arn: str, api: str, weights: Sequence[tuple[str, int]], auth: JwtAuth | None = None
) -> dict[str, Any]:
    """New weights for the production rule; its conditions are sent too, so a legacy ``/apis/<api>/*`` rule
    stops routing ``/metrics`` at its next weight change."""
    return {"RuleArn": rule_arn, "Conditions": production_conditions(api), "Actions": forward_actions(weights, auth)}


def rule_priorities(slot: int) -> tuple[int, int]:
    """An API's two rules sit in adjacent priorities: the test rule first, so it wins for tagged requests."""
    return 2 * slot - 1, 2 * slot


def free_slot(used_priorities: set[int]) -> int:
    """The lowest slot whose two priorities are both free (ALB priorities run 1-50000)."""
    slot = 1
    while set(rule_priorities(slot)) & used_priorities:
        slot += 1
    if rule_priorities(slot)[1] > 50_000:
        raise ValueError("the listener has no free rule priority left")
    return slot


def rule_request(
    listener_arn: str,
    priority: int,
    conditions: list[dict[str, Any]],
    api: str,
    weights: Sequence[tuple[str, int]],
    auth: JwtAuth | None = None,
) -> dict[str, Any]:
    return {
        "ListenerArn": listener_arn,
        "Priority": priority,
        "Conditions": conditions,
        "Actions": forward_actions(weights, auth),
        "Transforms": rewrite_transforms(api),
        "Tags": [{"Key": TAG_API, "Value": api}],
    }


def conditions_key(conditions: Sequence[dict[str, Any]]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A comparable form of rule conditions, as sent or as DescribeRules returns them (which adds legacy keys)."""
    key = []
    for condition in conditions:
        field = str(condition["Field"])
        if field == "http-header":
            config = condition["HttpHeaderConfig"]
            key.append((field, str(config["HttpHeaderName"]).lower(), tuple(config["Values"])))
        elif field == "path-pattern":
            values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
            key.append((field, "", tuple(values)))
        else:
            key.append((field, "", tuple(condition.get("Values") or [])))
    return tuple(sorted(key))


# ---- traffic steps --------------------------------------------------------------------------------------------


def next_percent(steps: Sequence[int], current: int) -> int | None:
    """The step after ``current`` percent on the new version; ``None`` once it holds the last (100)."""
    later = [step for step in steps if step > current]
    return later[0] if later else None


def shift_tag(percent: int, at: float) -> str:
    return f"{percent}@{int(at)}"


def parse_shift_tag(value: str | None) -> tuple[int, int] | None:
    """``"25@1700000000"`` -> ``(25, 1700000000)``; ``None`` for a missing or foreign value."""
    percent, sep, at = (value or "").partition("@")
    if not sep or not percent.isdigit() or not at.isdigit():
        return None
    return int(percent), int(at)


# ---- alarms ---------------------------------------------------------------------------------------------------


def alarm_requests(version: VersionRef, listener_arn: str, target_group_arn: str) -> list[dict[str, Any]]:
    """The per-API rollback alarms on the new version's target group (``TargetResponseTime`` is in seconds)."""
    source = RollbackAlarmMetrics(
        namespace="AWS/ApplicationELB",
        dimensions=[
            {"Name": "LoadBalancer", "Value": load_balancer_dimension(listener_arn)},
            {"Name": "TargetGroup", "Value": arn_resource(target_group_arn)},
        ],
        errors_metric="HTTPCode_Target_5XX_Count",
        latency_metric="TargetResponseTime",
        latency_unit_per_second=1.0,
    )
    return rollback_alarm_requests(version, source, f"{version.api} {version.label}")
