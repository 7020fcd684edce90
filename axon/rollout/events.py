"""The rollout's EventBridge events: the patterns it listens for, defined once for the CDK app, the tests and local
mode, and the outcome events it sends (``axon.rollout``), which notifications (SNS) and integrations subscribe to.
"""

from __future__ import annotations

import json
from typing import Any

from axon import names
from axon.deps import Deps
from axon.names import BUNDLE_PREFIX, BUNDLE_SUFFIX, NOTIFICATION_SOURCE
from axon.registry import Reason, VersionRecord

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


def notify(
    deps: Deps,
    detail_type: str,
    record: VersionRecord,
    previous: VersionRecord | None,
    reason: Reason | None = None,
) -> None:
    """Put one rollout outcome event (``detail_type``, one of :data:`ROLLOUT_DETAIL_TYPES`) on the event bus."""
    detail = {
        "api": record.api,
        "version": record.version,
        "version_id": record.version_id,
        "previous_version": previous.version if previous else None,
        "endpoint": names.endpoint_name(record.api),
        "reason": reason.model_dump() if reason else None,
    }
    deps.client("events").put_events(
        Entries=[
            {
                "Source": names.NOTIFICATION_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": deps.settings.event_bus,
                "Resources": [],
            }
        ]
    )
