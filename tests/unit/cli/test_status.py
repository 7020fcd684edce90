"""Status, traffic and last error of an API, one hand-written row per rule."""

import pytest

from axon.cli.stats import ApiStats
from axon.cli.status import api_view, derive_status, last_error, replica_freshness, traffic_split
from axon.platforms.base import Capacity, ReplicaSet
from axon.registry import ApiRecord, Reason, VersionRecord, VersionStatus
from tests.unit.cli.records import api, version

S = VersionStatus
NOW = 1_000_000.0
BROKEN = Reason(code="bundle.not_gzip", message="not gzip")


@pytest.mark.parametrize(
    ("record", "versions", "expected"),
    [
        pytest.param(api(deleted=True, live_seq=1), [version(1, S.LIVE)], "deleted", id="deleted-wins"),
        pytest.param(api(live_seq=1), [version(1, S.LIVE), version(2, S.BUILDING)], "updating", id="rollout-running"),
        pytest.param(
            api(live_seq=1, rolling_seq=2, lease_expires_at=NOW + 60),
            [version(1, S.LIVE), version(2, S.PENDING)],
            "updating",
            id="lease-held-before-validation",
        ),
        pytest.param(
            api(live_seq=1, rolling_seq=2, lease_expires_at=NOW - 1),
            [version(1, S.LIVE), version(2, S.PENDING)],
            "live",
            id="expired-lease-is-not-a-rollout",
        ),
        pytest.param(
            api(live_seq=1),
            [version(1, S.LIVE), version(2, S.FAILED, reason=BROKEN)],
            "live",
            id="live-despite-a-later-failure",
        ),
        pytest.param(api(), [version(1, S.FAILED), version(2, S.ROLLED_BACK)], "failed", id="only-failures"),
        pytest.param(api(), [version(1, S.PENDING)], "pending", id="not-started"),
        pytest.param(api(), [version(1, S.SUPERSEDED)], "inactive", id="nothing-left"),
    ],
)
def test_derive_status(record: ApiRecord, versions: list[VersionRecord], expected: str) -> None:
    assert derive_status(record, versions, NOW) == expected


@pytest.mark.parametrize(
    ("record", "versions", "expected"),
    [
        pytest.param(api(live_seq=1), [version(1, S.LIVE, traffic=100)], {"v1": 100}, id="steady"),
        pytest.param(
            api(live_seq=1),
            [version(1, S.LIVE, traffic=100), version(2, S.SHIFTING, traffic=25)],
            {"v2": 25, "v1": 75},
            id="linear-step",
        ),
        pytest.param(
            api(live_seq=1),
            [version(1, S.LIVE, traffic=100), version(2, S.DEPLOYING)],
            {"v1": 100},
            id="green-fleet-without-traffic",
        ),
        pytest.param(
            api(live_seq=1),
            [version(1, S.LIVE), version(2, S.SHIFTING, traffic=100)],
            {"v2": 100},
            id="all-shifted-before-finalize",
        ),
        pytest.param(api(), [version(1, S.SHIFTING, traffic=100)], {"v1": 100}, id="first-version"),
        pytest.param(
            api(live_seq=1), [version(1, S.LIVE), version(2, S.VALIDATING)], {"v1": 100}, id="validating-takes-none"
        ),
        pytest.param(api(deleted=True, live_seq=1), [version(1, S.LIVE)], {}, id="deleted"),
    ],
)
def test_traffic_split(record: ApiRecord, versions: list[VersionRecord], expected: dict[str, int]) -> None:
    assert traffic_split(record, versions) == expected


def test_last_error_is_the_newest_failure() -> None:
    versions = [
        version(1, S.FAILED, reason=BROKEN),
        version(2, S.ROLLED_BACK, reason=Reason(code="smoke_test.failed", message="HTTP 500")),
        version(3, S.LIVE),
    ]
    assert last_error(versions) == {"version": "v2", "code": "smoke_test.failed", "message": "HTTP 500"}
    assert last_error([version(1, S.FAILED)]) == {"version": "v1", "code": "rollout.failed", "message": ""}
    assert last_error([version(1, S.LIVE)]) is None


def test_api_view_golden() -> None:
    versions = [
        version(1, S.LIVE, traffic=100),
        version(2, S.ROLLED_BACK, reason=BROKEN, updated="2024-05-01T12:05:00.000Z"),
        version(3, S.SHIFTING, traffic=10, updated="2024-05-01T12:03:00.000Z"),
    ]
    capacity = Capacity(variant="AllTraffic", requested=3, ready=2, can_change=False, status="Updating")
    stats = ApiStats(in_flight=2.0, p50_ms=4.5, p99_ms=30.0, count_2xx=10, count_4xx=1, count_5xx=2)
    fleets = [ReplicaSet("v3", 1, 1), ReplicaSet("v1", 3, 2)]
    view = api_view(
        api(live_seq=1),
        versions,
        capacity,
        stats,
        url="http://x/endpoints/axon-iris/invocations",
        now=NOW,
        replica_sets=fleets,
    )
    assert view == {
        "name": "iris",
        "status": "updating",
        "live_version": "v1",
        "rolling_version": "v3",
        "traffic": {"v3": 10, "v1": 90},
        "replicas": {
            "requested": 3,
            "ready": 2,
            "up_to_date": 1,  # the rolling version's
            "stale": 2,
            "by_version": {"v3": {"requested": 1, "ready": 1}, "v1": {"requested": 3, "ready": 2}},
        },
        "endpoint": "axon-iris",
        "url": "http://x/endpoints/axon-iris/invocations",
        "platform": "sagemaker",
        "last_error": {"version": "v2", "code": "bundle.not_gzip", "message": "not gzip"},
        "in_flight": 2.0,
        "latency_ms": {"p50": 4.5, "p99": 30.0},
        "requests": {"2xx": 10, "4xx": 1, "5xx": 2},
        "last_update": "2024-05-01T12:05:00.000Z",
    }


def test_api_view_without_capacity_or_stats_has_zero_replicas_and_null_stats() -> None:
    view = api_view(api(), [version(1, S.PENDING)], None, None, url="u", now=NOW)
    assert (view["replicas"], view["in_flight"], view["latency_ms"], view["requests"]) == (
        {"requested": 0, "ready": 0, "up_to_date": None, "stale": None, "by_version": None},
        None,
        {"p50": None, "p99": None},
        {"2xx": None, "4xx": None, "5xx": None},
    )
    assert (view["live_version"], view["rolling_version"], view["last_error"]) == (None, None, None)


def test_without_a_rollout_replicas_of_the_live_version_are_up_to_date() -> None:
    versions = [version(1, S.SUPERSEDED), version(2, S.LIVE, traffic=100)]
    fleets = [ReplicaSet("v2", 2, 2), ReplicaSet("v1", 1, 1), ReplicaSet("", 1, 1)]
    replicas = replica_freshness(api(live_seq=2), versions, fleets)
    assert (replicas["up_to_date"], replicas["stale"]) == (2, 2)
    assert replicas["by_version"] == {
        "v2": {"requested": 2, "ready": 2},
        "v1": {"requested": 1, "ready": 1},
        "?": {"requested": 1, "ready": 1},
    }
    assert replica_freshness(api(live_seq=2), versions, None)["up_to_date"] is None
