"""What the local ECS agent keeps per service, and how it reads a task definition (no I/O here)."""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from axon import names
from axon.platforms.ecs import service as ecs_service
from axon_local.dataplane.router import Replica
from axon_local.sagemaker.ports import Fleet, VariantSpec

logger = logging.getLogger(__name__)

BUNDLE_ENV = "AXON_BUNDLE_URI"
UNABLE_TO_PLACE = (  # ECS's service event while its capacity provider has no instance to place a task on
    "(service {name}) was unable to place a task because no container instance met all of its requirements. "
    "Reason: No Container Instances were found in your capacity provider."
)


def circuit_breaker_threshold(desired: int) -> int:
    """Failed task starts that stop a deployment: half the desired count, at least 3, at most 200 (ECS's rule)."""
    return min(200, max(3, math.ceil(desired / 2)))


class AgentFleet(Fleet, Protocol):
    """The replicas the agent runs services on: ``LocalFleet``'s processes locally, doubles in the tests."""

    def close(self) -> None:
        """Make pending health waits give up at once (shutdown)."""


@dataclass(frozen=True)
class AwsLogs:
    """The serving container's awslogs configuration: where the driver ships a task's output."""

    group: str
    prefix: str
    container: str

    def stream(self, task_id: str) -> str:
        return f"{self.prefix}/{self.container}/{task_id}"


@dataclass(frozen=True)
class TaskSpec:
    """What a task definition runs, as the local fleet needs it."""

    api: str
    variant: VariantSpec
    awslogs: AwsLogs | None = None


@dataclass(eq=False)
class AgentService:
    """One ECS service as this agent runs it; only the poll thread adds or drops these."""

    model: Any  # moto's Service object: its identity is the service's
    fleet_id: str
    task_definition: str
    task: TaskSpec
    launched: bool = False
    failures: int = 0
    retry_at: float = 0.0
    targets: dict[Replica, str] = field(default_factory=dict)  # replica -> its IP target
    work: Future[None] | None = None

    @property
    def name(self) -> str:
        return str(self.model.name)

    @property
    def endpoint(self) -> str:
        return names.endpoint_name(self.task.api)

    @property
    def target_groups(self) -> list[str]:
        return [str(lb["targetGroupArn"]) for lb in self.model.load_balancers or [] if lb.get("targetGroupArn")]

    def busy(self) -> bool:
        return self.work is not None and not self.work.done()


def read_task_spec(task_definition: dict[str, Any]) -> TaskSpec | str:
    """The serving container of a ``DescribeTaskDefinition`` answer, or why the local agent cannot run it."""
    containers = task_definition.get("containerDefinitions") or []
    container = next((c for c in containers if c.get("name") == ecs_service.CONTAINER_NAME), None)
    if container is None:
        container = next((c for c in containers if c.get("essential", True)), None)
    arn = task_definition.get("taskDefinitionArn", "?")
    if container is None:
        return f"task definition {arn} has no essential container"
    environment = {str(e["name"]): str(e.get("value", "")) for e in container.get("environment") or []}
    bundle = environment.pop(BUNDLE_ENV, "")
    api = environment.get("AXON_API", "")
    if not bundle or not api:
        return (
            f"task definition {arn} sets no {BUNDLE_ENV} or AXON_API: the local ECS agent runs axon's serving image "
            "on a model bundle only"
        )
    # The agent downloads the bundle itself (BundleCache, like the instance's cache), so the replica gets a model
    # directory and no bundle URI: the runtime would refuse to replace a directory it did not fill.
    variant = VariantSpec(
        name=names.VARIANT_NAME, image=str(container.get("image", "")), model_data_url=bundle, environment=environment
    )
    return TaskSpec(api, variant, _awslogs(container))


def _awslogs(container: dict[str, Any]) -> AwsLogs | None:
    config = container.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not {"awslogs-group", "awslogs-stream-prefix"} <= set(options):
        return None
    return AwsLogs(options["awslogs-group"], options["awslogs-stream-prefix"], str(container.get("name", "")))


def settle(futures: list[Future[None]]) -> None:
    """Wait for every future; a failure is logged, so one service's trouble cannot keep the others running."""
    for future in futures:
        try:
            future.result()
        except Exception:
            logger.exception("the local ECS agent could not stop a service cleanly")


def primary_deployment(model: Any) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = model.deployments or [{}]
    return next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0])
