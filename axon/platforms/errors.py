"""Platform errors, with stable codes the registry records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from axon.errors import AxonError
from axon.names import MODEL_LOAD_FAILED_MARKER

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

LOG_TAIL_LINES = 20


class PlatformError(AxonError):
    code = "platform.error"


class SmokeTestFailedError(PlatformError):
    code = "smoke_test.failed"


class CapacityUnavailableError(PlatformError):
    code = "platform.capacity_unavailable"


class ModelLoadFailedError(PlatformError):
    """A replica of the new version exited while loading its model: the version can never become healthy."""

    code = "platform.model_load_failed"

    @classmethod
    def with_log(cls, what: str, logs: CloudWatchLogsClient | None, group: str, stream: str) -> ModelLoadFailedError:
        """``what`` happened; the message leads with ``axon-serve``'s own reason (its marker line, when the log
        has one) and ends with the replica's last log lines, so the user reads the traceback in ``axon history``."""
        lines = log_tail(logs, group, stream)
        reasons = [
            line.split(MODEL_LOAD_FAILED_MARKER, 1)[1].strip() for line in lines if MODEL_LOAD_FAILED_MARKER in line
        ]
        headline = f"{what}: {reasons[-1]}" if reasons else what
        if not lines:
            return cls(f"{headline} (nothing in log {group} {stream} yet)")
        return cls(f"{headline}. Last {len(lines)} lines of log {group} {stream}:\n" + "\n".join(lines))


def log_tail(logs: CloudWatchLogsClient | None, group: str, stream: str) -> list[str]:
    """A replica's last log lines; none without a logs client or before the stream's first line."""
    if logs is None:
        return []
    try:
        events = logs.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=False, limit=LOG_TAIL_LINES
        )["events"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        raise
    return [event["message"].rstrip("\n") for event in events]
