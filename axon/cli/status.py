"""What ``axon get`` says about an API, derived purely from registry records, capacity and statistics.

Kept free of I/O so every rule (which status wins, how traffic splits, which error is the last) is a table test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from axon import names
from axon.cli.stats import ApiStats
from axon.platforms.base import Capacity, ReplicaSet
from axon.registry import ApiRecord, VersionRecord, VersionStatus
from axon.registry.models import IN_FLIGHT_STATUSES

_FAILED = (VersionStatus.FAILED, VersionStatus.ROLLED_BACK)
_TAKING_TRAFFIC = (VersionStatus.DEPLOYING, VersionStatus.SHIFTING)


def live_version(api: ApiRecord, versions: Sequence[VersionRecord]) -> VersionRecord | None:
    return next((v for v in versions if v.seq == api.live_seq), None)


def rolling_version(versions: Sequence[VersionRecord]) -> VersionRecord | None:
    """The version whose rollout is running (validating .. shifting); the newest one if records disagree."""
    running = [v for v in versions if v.status in IN_FLIGHT_STATUSES]
    return max(running, key=lambda v: v.seq) if running else None


def _lease_held(api: ApiRecord, now: float) -> bool:
    return api.rolling_seq is not None and (api.lease_expires_at is None or api.lease_expires_at > now)


def derive_status(api: ApiRecord, versions: Sequence[VersionRecord], now: float) -> str:
    """``deleted`` > ``updating`` (a rollout runs) > ``live`` > ``failed`` (nothing ever went live) > ``pending``.

    ``now`` is epoch seconds: a lease whose holder crashed expires, and then no longer means ``updating``.
    """
    if api.deleted:
        return "deleted"
    if rolling_version(versions) is not None or _lease_held(api, now):
        return "updating"
    if api.live_seq is not None:
        return "live"
    if any(v.status in _FAILED for v in versions):
        return "failed"
    if any(v.status == VersionStatus.PENDING for v in versions):
        return "pending"
    return "inactive"


def traffic_split(api: ApiRecord, versions: Sequence[VersionRecord]) -> dict[str, int]:
    """Version label -> percent of requests, for the versions that take any; the rolling one first."""
    if api.deleted:
        return {}
    split: dict[str, int] = {}
    rolling = rolling_version(versions)
    moved = 0
    if rolling is not None and rolling.status in _TAKING_TRAFFIC and rolling.traffic_percent > 0:
        moved = rolling.traffic_percent
        split[rolling.version] = moved
    live = live_version(api, versions)
    if live is not None and moved < 100:
        split[live.version] = 100 - moved
    return split


def last_error(versions: Sequence[VersionRecord]) -> dict[str, str] | None:
    """The reason of the newest failed or rolled-back version."""
    failed = [v for v in versions if v.status in _FAILED]
    if not failed:
        return None
    newest = max(failed, key=lambda v: v.seq)
    if newest.reason is None:
        return {"version": newest.version, "code": f"rollout.{newest.status.value}", "message": ""}
    return {"version": newest.version, "code": newest.reason.code, "message": newest.reason.message}


def last_update(api: ApiRecord, versions: Sequence[VersionRecord]) -> str:
    """The newest change of the API or any of its versions (ISO-8601 UTC strings sort as times)."""
    return max([api.updated_at, *(v.updated_at for v in versions)])


def replica_freshness(
    api: ApiRecord, versions: Sequence[VersionRecord], replica_sets: Sequence[ReplicaSet] | None
) -> dict[str, Any]:
    """Ready replicas running the newest version (the rolling one while a rollout runs, else the live one) and
    those running an older one, plus every version's ``requested``/``ready``; ``None``s where the platform cannot
    tell versions apart."""
    if replica_sets is None:
        return {"up_to_date": None, "stale": None, "by_version": None}
    rolling, live = rolling_version(versions), live_version(api, versions)
    newest = rolling.version if rolling else live.version if live else None
    by_version: dict[str, dict[str, int]] = {}
    for fleet in replica_sets:
        counts = by_version.setdefault(fleet.version or "?", {"requested": 0, "ready": 0})
        counts["requested"] += fleet.requested
        counts["ready"] += fleet.ready
    return {
        "up_to_date": sum(f.ready for f in replica_sets if f.version == newest),
        "stale": sum(f.ready for f in replica_sets if f.version != newest),
        "by_version": by_version,
    }


def api_view(
    api: ApiRecord,
    versions: Sequence[VersionRecord],
    capacity: Capacity | None,
    stats: ApiStats | None,
    *,
    url: str | None,
    now: float,
    replica_sets: Sequence[ReplicaSet] | None = None,
) -> dict[str, Any]:
    """The object ``axon get NAME -o json`` prints (``axon get -o json`` prints a list of them)."""
    live = live_version(api, versions)
    rolling = rolling_version(versions)
    shown = stats or ApiStats()
    return {
        "name": api.api,
        "status": derive_status(api, versions, now),
        "live_version": live.version if live else None,
        "rolling_version": rolling.version if rolling else None,
        "traffic": traffic_split(api, versions),
        "replicas": {
            "requested": capacity.requested if capacity else 0,
            "ready": capacity.ready if capacity else 0,
            **replica_freshness(api, versions, replica_sets),
        },
        "endpoint": names.endpoint_name(api.api),
        "url": url,
        "platform": api.platform,
        "last_error": last_error(versions),
        "in_flight": shown.in_flight,
        "latency_ms": {"p50": shown.p50_ms, "p99": shown.p99_ms},
        "requests": {"2xx": shown.count_2xx, "4xx": shown.count_4xx, "5xx": shown.count_5xx},
        "last_update": last_update(api, versions),
    }
