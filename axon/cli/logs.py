"""``axon logs NAME [--follow]``: the API's CloudWatch Logs, all replicas interleaved by time.

The log group is the API's platform's: a SageMaker endpoint's ``/aws/sagemaker/Endpoints/axon-<api>``, or for an ECS
API the ``awslogs-group`` of its version's task definition (``logConfiguration`` of the serving container).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import typer
from botocore.exceptions import ClientError

from axon import names
from axon.cli import render
from axon.cli.context import CliContext, context_of
from axon.cli.errors import InvalidInputError, NotFoundError
from axon.cli.options import Output, valid_api

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


def parse_since(text: str) -> int:
    """``90s``, ``10m``, ``2h``, ``1d`` -> seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidInputError(f"--since {text!r}: use a number and a unit, e.g. 30s, 10m, 2h, 1d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class LogTail:
    """Successive FilterLogEvents windows that never print an event twice.

    Each poll starts at the newest timestamp seen so far (inclusive, so events sharing that millisecond are not
    lost) and skips the event ids already printed at that timestamp, as ``aws logs tail --follow`` does.
    """

    def __init__(self, logs: Any, group: str, start_ms: int) -> None:
        self.logs = logs
        self.group = group
        self.start_ms = start_ms
        self._seen_at_start: set[str] = set()

    def poll(self) -> list[dict[str, Any]]:
        pages = self.logs.get_paginator("filter_log_events").paginate(logGroupName=self.group, startTime=self.start_ms)
        events = [e for page in pages for e in page.get("events", [])]
        fresh = sorted((e for e in events if e["eventId"] not in self._seen_at_start), key=lambda e: e["timestamp"])
        if fresh:
            newest = fresh[-1]["timestamp"]
            at_newest = {e["eventId"] for e in events if e["timestamp"] == newest}
            self._seen_at_start = at_newest | (self._seen_at_start if newest == self.start_ms else set())
            self.start_ms = newest
        return fresh


def _line(event: dict[str, Any], output: Output) -> str:
    at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat(timespec="milliseconds")
    at = at.replace("+00:00", "Z")
    message = str(event["message"]).rstrip("\n")
    if output == Output.json:
        return json.dumps({"timestamp": at, "stream": event.get("logStreamName", ""), "message": message})
    return f"{at}  {event.get('logStreamName', '')}  {message}"


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def _ecs_log_group(cli: CliContext, api: str, label: str) -> str | None:
    """The ``awslogs-group`` of the serving container in the version's task definition (its newest revision)."""
    from axon.platforms.ecs.service import CONTAINER_NAME, task_family

    try:
        described = cli.client("ecs").describe_task_definition(taskDefinition=task_family(api, label))
    except ClientError:
        return None  # deregistered (a removed version): the group every version writes to by default
    containers = described["taskDefinition"].get("containerDefinitions") or []
    container: Any = next((c for c in containers if c.get("name") == CONTAINER_NAME), {})
    config = container.get("logConfiguration") or {}
    group = (config.get("options") or {}).get("awslogs-group")
    return str(group) if config.get("logDriver") == "awslogs" and group else None


def log_group_of(cli: CliContext, api: str) -> str:
    """Where the replicas of ``api`` log: the live version's platform decides (the rolling one before any went
    live); an API the registry does not know is looked for in the SageMaker endpoint's group."""
    default = names.log_group(api)
    record = cli.registry.get_api(api)
    seq = None if record is None else record.live_seq if record.live_seq is not None else record.rolling_seq
    if record is None or seq is None:
        return default
    try:
        version = cli.registry.get_version(api, seq)
    except KeyError:
        return default
    platform = record.platform
    if record.live_seq is None and version.spec is not None:
        platform = version.spec.compute.platform
    if platform != "ecs":
        return default
    return _ecs_log_group(cli, api, version.version) or default


def logs(ctx: typer.Context, name: str, *, follow: bool, since: str, output: Output) -> None:
    """``axon logs``, run by :func:`axon.cli.app.logs` (which declares its options and help)."""
    cli = context_of(ctx)
    start_ms = int((cli.now() - parse_since(since)) * 1000)
    group = log_group_of(cli, valid_api(name))
    tail = LogTail(cli.client("logs"), group, start_ms)
    waiting_said = False
    try:
        while True:
            try:
                for event in tail.poll():
                    typer.echo(_line(event, output))
            except ClientError as error:
                if not _missing(error):
                    raise
                if not follow:
                    raise NotFoundError(f"no logs for {name} yet: log group {group} does not exist") from error
                if not waiting_said:
                    render.stderr().print(f"waiting for log group {group} ...", markup=False)
                    waiting_said = True
            if not follow:
                return
            cli.sleep(cli.poll_seconds)
    except KeyboardInterrupt:
        return  # Ctrl-C is how --follow ends: a normal exit
