"""A new SageMaker model that cannot load, read from ``axon-serve``'s marker line in the endpoint's log group.

SageMaker restarts a container that exits and gives up only after the container's health-check window, minutes
later ("did not pass the ping health check"): the endpoint turns ``Failed`` on create, the update rolls back. The
container said why the moment it exited: ``axon-serve`` ends its stderr with ``names.MODEL_LOAD_FAILED_MARKER``,
which SageMaker ships to ``/aws/sagemaker/Endpoints/axon-<api>``. Finding that line since the deployment started
fails the rollout at once, with the replica's last log lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.errors import ModelLoadFailedError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

PING_FAILED = (
    "did not pass the ping health check"  # SageMaker's FailureReason for a container that never became healthy
)
LOG_DELIVERY_SECONDS = 30.0  # how long after such a failure the container's last lines may still be on their way


def load_failure(logs: CloudWatchLogsClient, api: str, since: datetime, label: str) -> ModelLoadFailedError | None:
    """The first replica that announced a failed load since ``since`` (the new endpoint config's creation)."""
    group = names.log_group(api)
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group,
        startTime=int(since.timestamp() * 1000),
        filterPattern=f'"{names.MODEL_LOAD_FAILED_MARKER}"',  # quoted: the exact phrase
    )
    try:
        for page in pages:
            for event in page["events"]:
                what = f"{label} could not load its model"
                return ModelLoadFailedError.with_log(what, logs, group, event["logStreamName"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None  # no container has written a line yet
        raise
    return None
