"""Which APIs the autoscaler scales: the registry's live APIs, with the spec of their live version."""

from __future__ import annotations

import math
from typing import Protocol

from axon.autoscaler.tick import LiveApi
from axon.registry import ApiRecord, VersionRecord
from axon.spec import ApiSpec


class ApiLister(Protocol):
    """The registry reads the autoscaler needs, and no more (any registry implementation has them)."""

    def list_apis(self) -> list[ApiRecord]: ...

    def get_version(self, api: str, seq: int) -> VersionRecord: ...


def lease_expiry(api: ApiRecord) -> float | None:
    """When the API's rollout lease lapses (epoch s); ``None`` without one. A lease written without an expiry
    never lapses, as the registry's own acquire condition reads it."""
    if api.lease_owner is None:
        return None
    return math.inf if api.lease_expires_at is None else float(api.lease_expires_at)


def live_apis(registry: ApiLister) -> list[LiveApi]:
    """Every non-deleted API with a live version, with its lease's expiry: the tick, which knows ``now``,
    decides whether a rollout still holds scale-in."""
    lives = []
    for api in registry.list_apis():
        if api.live_seq is None:
            continue
        version = registry.get_version(api.api, api.live_seq)
        spec = version.spec if version.spec is not None else ApiSpec()  # parsed when the record was read
        lives.append(
            LiveApi(
                api.api,
                spec,
                spec.compute.platform,
                lease_expires_at=lease_expiry(api),
                signal_key=version.signal_key,
            )
        )
    return lives
