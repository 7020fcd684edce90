"""The API registry: versions, statuses, timelines and the one-rollout-per-API lease."""

from axon.registry.dynamodb import DynamoDBRegistry
from axon.registry.models import (
    ApiRecord,
    Reason,
    TimelineEvent,
    Upload,
    VersionRecord,
    VersionStatus,
)

__all__ = [
    "ApiRecord",
    "DynamoDBRegistry",
    "Reason",
    "TimelineEvent",
    "Upload",
    "VersionRecord",
    "VersionStatus",
]
