"""Green's fleet on ECS: is it placed and healthy yet, and if not, why (GPU capacity or health checks) and how long.

A blue-green rollout needs room for a second fleet. While the capacity provider grows the Auto Scaling group,
the version's status says how many tasks wait for which instance type; after the config's
``placement_timeout_seconds`` the rollout fails with that reason instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from axon.platforms.base import DeploymentPhase, DeploymentStatus, VersionRef
from axon.platforms.ecs import specs
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.errors import CapacityUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client


@dataclass(frozen=True)
class Health:
    """Green's fleet as ECS and the ALB see it."""

    desired: int
    running: int
    healthy: int
    started_at: float  # epoch seconds: when ECS accepted the service's deployment
    failed_reason: str  # the circuit breaker's reason when ECS gave up starting tasks, else ""
    placement_event: str  # newest "unable to place a task" service event, else ""

    @property
    def ready(self) -> bool:
        return self.desired > 0 and self.running >= self.desired and self.healthy >= self.desired


def active_service(ecs: ECSClient, cluster: str, api: str, label: str) -> Any:
    """The version's service while it is ACTIVE (a deleted one lingers as DRAINING/INACTIVE), else None."""
    described = ecs.describe_services(cluster=cluster, services=[specs.service_name(api, label)])
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
    healthy = 0
    for target_group in service.get("loadBalancers") or []:
        described = elbv2.describe_target_health(TargetGroupArn=target_group["targetGroupArn"])
        healthy += sum(1 for t in described["TargetHealthDescriptions"] if t["TargetHealth"]["State"] == "healthy")
    return Health(
        desired=int(service["desiredCount"]),
        running=int(service["runningCount"]),
        healthy=healthy,
        started_at=started.timestamp() if started is not None else clock(),
        failed_reason=str(primary.get("rolloutStateReason") or "the deployment failed") if failed else "",
        placement_event=event,
    )


def waiting_status(version: VersionRef, health: Health, config: EcsConfig, now: float) -> DeploymentStatus:
    """Green is not ready: say why (GPU capacity or health checks) until the placement timeout, then fail."""
    service = specs.service_name(version.api, version.label)
    waited = now - health.started_at
    timeout = config.placement_timeout_seconds
    compute = version.spec.compute
    if health.running < health.desired:
        what = (
            f"{health.desired - health.running} of {health.desired} tasks of {service} are waiting for "
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
    what = f"{health.healthy} of {health.desired} targets of {service} pass {specs.HEALTH_CHECK_PATH}"
    if waited >= timeout:
        return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"{what} after {int(waited)} s (limit {timeout} s)")
    return DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message=f"waiting for health checks: {what}")
