"""One version's ECS side: its task definition and service, whether its fleet is placed and healthy, and why not.

Every name a version owns on ECS is derived here from ``(api, label)`` (``axon-<api>-<label>``), so any Lambda
invocation finds a rollout's service again without keeping state of its own. Request bodies are pure builders
(dict-equality tested); the readers take the boto3 client as an argument.

- Placement: a blue-green rollout needs room for a second fleet. While the capacity provider grows the Auto
  Scaling group, the version's status says how many tasks wait for which instance type; after the config's
  ``placement_timeout_seconds`` the rollout fails with that reason instead of hanging.
- Load failures: ``axon-serve`` exits 3 when the predictor fails to load (2 when the bundle cannot be read) and
  ECS records the task as STOPPED with the container's exit code. ECS would start another task that fails the same
  way until the placement timeout; reading the stopped task fails the rollout on the first poll after the first
  crash instead, with the last lines of the task's awslogs stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.base import DeploymentPhase, DeploymentStatus, VersionRef
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.errors import CapacityUnavailableError, ModelLoadFailedError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_logs import CloudWatchLogsClient

CONTAINER_NAME = "serving"
CONTAINER_PORT = 8080  # the serving runtime's port (SageMaker's container contract)
HEALTH_CHECK_PATH = "/ping"
# Tags: what an API's resources are (services, task definitions and target groups carry both).
TAG_API = "axon:api"
TAG_VERSION = "axon:version"
# Soft memory limit per task: GPUs are what bounds placement on g5/g6 hosts; the container may use more memory.
MEMORY_RESERVATION_MIB = 2048
# Time ECS ignores failing load-balancer health checks after a task starts: the runtime downloads the bundle and
# loads the model first (GPU models take minutes).
HEALTH_CHECK_GRACE_SECONDS = 600
# An async version's worker finishes the requests it holds when ECS stops its task: ECS waits ``stopTimeout`` between
# SIGTERM and SIGKILL (120 s is Fargate's maximum and is accepted on EC2 hosts too, where the agent's 30 s default
# would otherwise apply); the worker drains for 10 s less.
WORKER_STOP_TIMEOUT_SECONDS = 120
_LABEL_RE = re.compile(r"^[A-Za-z0-9_]+$")
_DESCRIBE_LIMIT = 100  # DescribeTasks takes at most 100 tasks
_MISSING_SERVICE = {"ServiceNotFoundException", "ServiceNotActiveException"}


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


def region_of(arn: str) -> str:
    return arn.split(":")[3]


# ---- task definition and service ------------------------------------------------------------------------------


def environment(version: VersionRef) -> dict[str, str]:
    """What the serving runtime reads: it downloads and safely extracts ``AXON_BUNDLE_URI`` when it starts."""
    return {**version.replica_environment(), "AXON_BUNDLE_URI": version.model_data_uri}


def task_definition_request(
    version: VersionRef, config: EcsConfig, worker: dict[str, str] | None = None
) -> dict[str, Any]:
    """``worker``: an async version's worker-mode environment (queue, topics), which also gets the longer stop."""
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": version.image_uri,
        "essential": True,
        "memoryReservation": MEMORY_RESERVATION_MIB,
        "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted({**environment(version), **(worker or {})}.items())],
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
    if worker is not None:
        container["stopTimeout"] = WORKER_STOP_TIMEOUT_SECONDS
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
    version: VersionRef, config: EcsConfig, task_definition_arn: str, target_group_arn: str | None, desired: int
) -> dict[str, Any]:
    """The new version's service: on the capacity provider of ``compute.instance_type``, behind its target group
    (an async version has none: its tasks take their work from the API's queue).

    The circuit breaker stops a deployment whose tasks keep failing to start (``rolloutState`` FAILED) instead of
    retrying for ever; it does not roll back, because this service has no earlier revision to return to.
    """
    request: dict[str, Any] = {
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
    if target_group_arn is not None:
        request["loadBalancers"] = [
            {"targetGroupArn": target_group_arn, "containerName": CONTAINER_NAME, "containerPort": CONTAINER_PORT}
        ]
        request["healthCheckGracePeriodSeconds"] = HEALTH_CHECK_GRACE_SECONDS
    return request


# ---- reading the fleet ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """Green's fleet as ECS and the ALB see it."""

    requested: int  # the service's desiredCount
    running: int
    healthy: int
    started_at: float  # epoch seconds: when ECS accepted the service's deployment
    failed_reason: str  # the circuit breaker's reason when ECS gave up starting tasks, else ""
    placement_event: str  # newest "unable to place a task" service event, else ""

    @property
    def ready(self) -> bool:
        return self.requested > 0 and self.running >= self.requested and self.healthy >= self.requested


def active_service(ecs: ECSClient, cluster: str, api: str, label: str) -> Any:
    """The version's service while it is ACTIVE (a deleted one lingers as DRAINING/INACTIVE), else None."""
    described = ecs.describe_services(cluster=cluster, services=[service_name(api, label)])
    active = [s for s in described["services"] if s.get("status") == "ACTIVE"]
    return active[0] if active else None


def initial_count(version: VersionRef, blue: Any) -> int:
    """Green starts as large as ``blue``'s service is now (the autoscaler's last word), within the new bounds."""
    count = int(blue["desiredCount"]) if blue is not None else version.spec.init_replicas
    autoscaling = version.spec.autoscaling
    return min(max(count, autoscaling.min_replicas, 1), autoscaling.max_replicas)


def read_health(
    ecs: ECSClient,
    elbv2: ElasticLoadBalancingv2Client,
    cluster: str,
    version: VersionRef,
    clock: Callable[[], float],
) -> Health | None:
    """Green's tasks and healthy targets, or None when its service no longer exists."""
    service = active_service(ecs, cluster, version.api, version.label)
    if service is None:
        return None
    primary: Any = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
    started = primary.get("createdAt") or service.get("createdAt")
    failed = primary.get("rolloutState") == "FAILED"
    event = next((e["message"] for e in service.get("events") or [] if "unable to place" in e["message"]), "")
    healthy = 0 if service.get("loadBalancers") else int(service["runningCount"])  # async: no targets, running
    for target_group in service.get("loadBalancers") or []:
        described = elbv2.describe_target_health(TargetGroupArn=target_group["targetGroupArn"])
        healthy += sum(1 for t in described["TargetHealthDescriptions"] if t["TargetHealth"]["State"] == "healthy")
    return Health(
        requested=int(service["desiredCount"]),
        running=int(service["runningCount"]),
        healthy=healthy,
        started_at=started.timestamp() if started is not None else clock(),
        failed_reason=str(primary.get("rolloutStateReason") or "the deployment failed") if failed else "",
        placement_event=event,
    )


def waiting_status(version: VersionRef, health: Health, config: EcsConfig, now: float) -> DeploymentStatus:
    """Green is not ready: say why (GPU capacity or health checks) until the placement timeout, then fail."""
    service = service_name(version.api, version.label)
    waited = now - health.started_at
    timeout = config.placement_timeout_seconds
    compute = version.spec.compute
    if health.running < health.requested:
        what = (
            f"{health.requested - health.running} of {health.requested} tasks of {service} are waiting for "
            f"{compute.instance_type} capacity ({compute.gpu} GPU each)"
        )
        event = f"; ECS: {health.placement_event}" if health.placement_event else ""
        if waited >= timeout:
            error = CapacityUnavailableError(
                f"{what} after {int(waited)} s (limit {timeout} s){event}; the live version is untouched"
            )
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=str(error))
        provider = config.capacity_providers[compute.instance_type]
        return DeploymentStatus(
            DeploymentPhase.IN_PROGRESS,
            0,
            message=f"{what}; capacity provider {provider} is adding instances{event}",
        )
    what = f"{health.healthy} of {health.requested} targets of {service} pass {HEALTH_CHECK_PATH}"
    if waited >= timeout:
        return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"{what} after {int(waited)} s (limit {timeout} s)")
    return DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message=f"waiting for health checks: {what}")


# ---- load failures --------------------------------------------------------------------------------------------


def load_failure(
    ecs: ECSClient, logs: CloudWatchLogsClient | None, cluster: str, version: VersionRef
) -> ModelLoadFailedError | None:
    """Why green cannot load its model, from a task of its family that stopped with a non-zero exit code."""
    family = task_family(version.api, version.label)
    arns = ecs.list_tasks(cluster=cluster, family=family, desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return None
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:_DESCRIBE_LIMIT])["tasks"]
    for task in tasks:
        container: Any = next((c for c in task.get("containers") or [] if c.get("name") == CONTAINER_NAME), {})
        code = container.get("exitCode")
        if code:
            task_id = task["taskArn"].rsplit("/", 1)[-1]
            what = (
                f"{version.label} could not load its model: task {task_id} stopped "
                f"({task.get('stoppedReason') or 'no reason given'}) with exit code {code}"
            )
            where = _log_stream(ecs, task["taskDefinitionArn"], task_id)
            if where is None:
                return ModelLoadFailedError(f"{what} (its task definition does not log to CloudWatch)")
            return ModelLoadFailedError.with_log(what, logs, *where)
    return None


def _log_stream(ecs: ECSClient, task_definition: str, task_id: str) -> tuple[str, str] | None:
    """The awslogs group and stream of the task's serving container: ``<prefix>/<container>/<task id>``."""
    described: Any = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    containers = described.get("containerDefinitions") or []
    container: Any = next((c for c in containers if c.get("name") == CONTAINER_NAME), {})
    config = container.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not {"awslogs-group", "awslogs-stream-prefix"} <= set(options):
        return None
    return options["awslogs-group"], f"{options['awslogs-stream-prefix']}/{CONTAINER_NAME}/{task_id}"


# ---- removal --------------------------------------------------------------------------------------------------


def labels(ecs: ECSClient, cluster: str, api: str) -> set[str]:
    """Every version of ``api`` that still has a service or an active task-definition family."""
    found: set[str] = set()
    for page in ecs.get_paginator("list_services").paginate(cluster=cluster):
        found.update(filter(None, (label_of(api, arn.rsplit("/", 1)[-1]) for arn in page["serviceArns"])))
    prefix = f"{names.endpoint_name(api)}-"
    for families in ecs.get_paginator("list_task_definition_families").paginate(familyPrefix=prefix, status="ACTIVE"):
        found.update(filter(None, (label_of(api, family) for family in families["families"])))
    return found


def delete_service(ecs: ECSClient, cluster: str, api: str, label: str) -> None:
    """Scale the version's service to zero and delete it; one that is already gone is not an error."""
    try:
        ecs.update_service(cluster=cluster, service=service_name(api, label), desiredCount=0)
        ecs.delete_service(cluster=cluster, service=service_name(api, label))
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code", "")) not in _MISSING_SERVICE:
            raise


def deregister_task_definitions(ecs: ECSClient, api: str, label: str) -> None:
    """Deregister every active revision of the version's own family (not a longer family sharing the prefix)."""
    family = task_family(api, label)
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
        for arn in page["taskDefinitionArns"]:
            if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family:
                ecs.deregister_task_definition(taskDefinition=arn)
