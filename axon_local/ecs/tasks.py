"""Tasks as ECS and the load balancer record them: an IP target while a replica runs, a STOPPED task once it exits.

On AWS, ECS keeps a stopped task (``ListTasks desiredStatus=STOPPED``, ``DescribeTasks``) with its container's exit
code and ``stoppedReason`` "Essential container in task exited", and the awslogs driver has shipped the container's
output to the stream ``<prefix>/<container>/<task id>``. moto runs no tasks, so the local agent records both when a
replica exits, and the ECS platform reads a crashed replica exactly as on AWS.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.ecs.models import Task, ecs_backends

from axon.platforms.ecs import service as ecs_service
from axon_local.dataplane.router import Replica
from axon_local.ecs.services import AgentService, primary_deployment
from axon_local.sagemaker.ports import FleetError, ReplicaExitedError

logger = logging.getLogger(__name__)

ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
_LOG_BYTES = 256 * 1024  # the end of a replica's log that goes to its task's stream (a crash's log is short)


def update_targets(call: Any, group: str, addresses: Iterable[str]) -> None:
    """Register or deregister IP targets; a target group deleted meanwhile has nothing left to update."""
    targets = [{"Id": address, "Port": ecs_service.CONTAINER_PORT} for address in addresses]
    if not targets:
        return
    try:
        call(TargetGroupArn=group, Targets=targets)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"TargetGroupNotFound", "InvalidTarget"}:
            raise
    except BotoCoreError:
        logger.warning("could not update the targets of %s", group, exc_info=True)


def _stopped_task(backend: Any, service: Any, exit_code: int) -> Any:
    """A STOPPED task of ``service`` (moto's model) whose essential container exited ``exit_code``."""
    # A stopped task's ENI is already deleted, so the task is built without one (moto's awsvpc path would create
    # one, and fails doing it: its NetworkInterface has no private_dns_name).
    definition = copy.copy(backend.describe_task_definition(service.task_definition))
    definition.network_mode = None
    task = Task(
        backend.clusters[service.cluster_name],
        definition,
        None,
        None,
        backend,
        group=f"service:{service.name}",
        started_by=str(primary_deployment(service).get("id") or ""),
    )
    task.last_status = task.desired_status = "STOPPED"
    task.stopped_reason = ESSENTIAL_CONTAINER_EXITED
    for container in task.containers:
        container.last_status, container.exitCode = "STOPPED", exit_code
    return task


class StoppedTasks:
    """What ECS and the awslogs driver record when a local replica of a service exits."""

    def __init__(self, logs: Any, *, region: str, account: str, clock: Callable[[], float]) -> None:
        self._logs = logs
        self._clock = clock
        self._region = region
        self._account = account

    def failed_start(self, service: AgentService, error: FleetError) -> None:
        """A start that failed because a new replica exited (not one that timed out) leaves a STOPPED task."""
        if isinstance(error, ReplicaExitedError):
            self.record(service, error.exit_code, error.log_path)

    def exited(self, service: AgentService, replicas: Iterable[Replica]) -> None:
        """Running replicas found exited (each is seen once: the next scale replaces it)."""
        for replica in replicas:
            code = replica.process.exit_code()
            if code is not None:
                self.record(service, code, replica.process.log_path)

    def record(self, service: AgentService, exit_code: int, log_path: Path) -> None:
        """The task's log stream first, so whoever sees the STOPPED task also finds its last lines."""
        backend = ecs_backends[self._account][self._region]
        task = _stopped_task(backend, service.model, exit_code)
        awslogs = service.task.awslogs
        if awslogs is not None:
            self._put(awslogs.group, awslogs.stream(task.id), _lines(log_path))
        backend.tasks.setdefault(task.cluster_name, {})[task.task_arn] = task  # ListTasks shows it from now on

    def _put(self, group: str, stream: str, lines: Sequence[str]) -> None:
        for create, kwargs in (
            (self._logs.create_log_group, {"logGroupName": group}),
            (self._logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
        ):
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                create(**kwargs)
        if lines:
            now = int(self._clock() * 1000)
            events = [{"timestamp": now, "message": line} for line in lines]
            self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - _LOG_BYTES))
            data = log.read()
    except OSError:
        return []
    return [line for line in data.decode(errors="replace").splitlines() if line.strip()]
