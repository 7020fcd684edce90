"""EventBridge patterns as CDK types, converted from the plain dicts ``axon.rollout.events`` defines once."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events

# EventBridge pattern keys -> EventPattern fields; a key outside this map cannot be expressed, so it is refused.
_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "version": "version",
    "id": "id",
    "time": "time",
}


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = pattern.keys() - _FIELDS.keys()
    if unknown:
        raise ValueError(f"event pattern keys not supported by EventPattern: {sorted(unknown)}")
    return events.EventPattern(**{_FIELDS[key]: value for key, value in pattern.items()})
