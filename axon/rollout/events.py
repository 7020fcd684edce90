"""Event patterns and schedules: defined once, used by the CDK app, the tests and local mode."""

from __future__ import annotations

from typing import Any

from axon.names import BUNDLE_PREFIX, BUNDLE_SUFFIX, NOTIFICATION_SOURCE

UPLOAD_DETAIL_TYPE = "Object Created"
EXECUTION_STATUS_DETAIL_TYPE = "Step Functions Execution Status Change"
# Execution ends that HandleFailure may not have seen: a timeout or an abort cannot be caught in the ASL, and a
# FAILED execution is either a refused version (already handled: recovery is a no-op) or a failed cleanup.
UNFINISHED_EXECUTION_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
ROLLOUT_DETAIL_TYPES = ("Rollout Succeeded", "Rollout Failed", "Rollout Rolled Back")


def upload_event_pattern(bucket: str) -> dict[str, Any]:
    """EventBridge pattern for a bundle upload: S3 Object Created under ``apis/`` ending ``.tar.gz``.

    Prefix and suffix cannot both be matched on one field in one pattern element, so the key is matched
    by prefix and by a wildcard (EventBridge ``wildcard`` operator) that also fixes the suffix.
    """
    return {
        "source": ["aws.s3"],
        "detail-type": [UPLOAD_DETAIL_TYPE],
        "detail": {
            "bucket": {"name": [bucket]},
            "object": {"key": [{"wildcard": f"{BUNDLE_PREFIX}*/*{BUNDLE_SUFFIX}"}]},
        },
    }


def notification_event_pattern() -> dict[str, Any]:
    """Pattern matching axon's own rollout outcome events (for the SNS topic)."""
    return {"source": [NOTIFICATION_SOURCE], "detail-type": list(ROLLOUT_DETAIL_TYPES)}


def execution_end_pattern(state_machine_arn: str) -> dict[str, Any]:
    """Pattern for a rollout execution that ended without succeeding (the recovery Lambda's rule)."""
    return {
        "source": ["aws.states"],
        "detail-type": [EXECUTION_STATUS_DETAIL_TYPE],
        "detail": {"stateMachineArn": [state_machine_arn], "status": list(UNFINISHED_EXECUTION_STATUSES)},
    }
