"""Green's stopped tasks: a container that exited non-zero before green was healthy means its model cannot load.

``axon-serve`` exits 3 when the predictor fails to load (2 when the bundle cannot be read) and ECS records the task
as STOPPED ("Essential container in task exited") with the container's exit code. ECS would start another task
that fails the same way until the placement timeout; reading the stopped task instead fails the rollout on the
first poll after the first crash, with the last lines of the task's awslogs stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axon.platforms.base import VersionRef
from axon.platforms.ecs import specs
from axon.platforms.errors import ModelLoadFailedError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_logs import CloudWatchLogsClient

_DESCRIBE_LIMIT = 100  # DescribeTasks takes at most 100 tasks


def load_failure(
    ecs: ECSClient, logs: CloudWatchLogsClient | None, cluster: str, version: VersionRef
) -> ModelLoadFailedError | None:
    """Why green cannot load its model, from a task of its family that stopped with a non-zero exit code."""
    family = specs.task_family(version.api, version.label)
    arns = ecs.list_tasks(cluster=cluster, family=family, desiredStatus="STOPPED")["taskArns"]
    if not arns:
        return None
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:_DESCRIBE_LIMIT])["tasks"]
    for task in tasks:
        container: Any = next((c for c in task.get("containers") or [] if c.get("name") == specs.CONTAINER_NAME), {})
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
    container: Any = next((c for c in containers if c.get("name") == specs.CONTAINER_NAME), {})
    config = container.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not {"awslogs-group", "awslogs-stream-prefix"} <= set(options):
        return None
    return options["awslogs-group"], f"{options['awslogs-stream-prefix']}/{specs.CONTAINER_NAME}/{task_id}"
