"""``axon.rollout`` events on EventBridge: notifications (SNS) and integrations subscribe to them."""

from __future__ import annotations

import json

from axon import names
from axon.deps import Deps
from axon.registry import Reason, VersionRecord


def notify(
    deps: Deps,
    detail_type: str,
    record: VersionRecord,
    previous: VersionRecord | None,
    reason: Reason | None = None,
) -> None:
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
