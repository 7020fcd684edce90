"""The API registry: versions, statuses, timelines and the one-rollout-per-API lease."""

from axon.registry.base import LeaseMove, Registry
from axon.registry.dynamodb import DynamoDBRegistry
from axon.registry.memory import InMemoryRegistry
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
    "InMemoryRegistry",
    "LeaseMove",
    "Reason",
    "Registry",
    "TimelineEvent",
    "Upload",
    "VersionRecord",
    "VersionStatus",
]
