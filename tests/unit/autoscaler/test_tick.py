"""tick() over fakes: apply, hold, isolation, dry-run, the platform-wide cap, EMF documents."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime

import pytest

from axon.autoscaler.algorithm import Decision, Observation, decide
from axon.autoscaler.emf import emf_document
from axon.autoscaler.live import lease_expiry
from axon.autoscaler.metrics import SeriesKey
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import InMemoryScalerStateStore
from axon.autoscaler.tick import LiveApi, TickSettings, TickSummary, tick
from axon.platforms.base import Capacity
from axon.registry import ApiRecord
from axon.spec import load_spec_text
from tests.unit.autoscaler.fakes import FakeMetrics, FakePlatform

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SPEC = load_spec_text("autoscaling: {max_replicas: 50}")


def minute(total: float, end: datetime = NOW) -> list[tuple[float, float]]:
    """Six 10-s datapoints ending 30 s before ``end`` (CloudWatch lag)."""
    last = end.timestamp() - 30
    return [(last - 10 * i, total) for i in range(5, -1, -1)]


def setup(apis: dict[str, tuple[int, float]], can_change: bool = True) -> tuple[FakePlatform, FakeMetrics]:
    platform, metrics = FakePlatform(), FakeMetrics()
    for api, (replicas, per_replica) in apis.items():
        platform.capacities[api] = Capacity("v-1", replicas, replicas, can_change)
        metrics.series[SeriesKey(api, "v-1")] = minute(per_replica * replicas)  # sources report totals
    return platform, metrics


def run(
    platform: FakePlatform,
    metrics: FakeMetrics,
    store: InMemoryScalerStateStore,
    cap: int = 200,
    dry_run: bool = False,
    extra: tuple[LiveApi, ...] = (),
) -> TickSummary:
    settings = TickSettings(max_total_replicas=cap, dry_run=dry_run)
    lives = [LiveApi(api, SPEC, "sagemaker") for api in platform.capacities] + list(extra)
    return tick(
        now=NOW,
        live_apis=lambda: lives,
        platform_for=lambda _: platform,
        metrics=metrics,
        store=store,
        settings=settings,
    )


def test_scales_out_on_the_total_in_flight() -> None:
    platform, metrics = setup({"a": (2, 1.5), "b": (3, 1.0)})  # a: 3 in flight on 2 replicas
    summary = run(platform, metrics, store := InMemoryScalerStateStore())
    assert platform.calls == [("a", "v-1", 3)]
    assert metrics.calls == 1 and summary.changed == 1 and summary.apis == 2
    assert {r.api: (r.previous, r.desired, r.applied) for r in store.decisions} == {
        "a": (2, 3, True),
        "b": (3, 3, False),
    }
    assert set(store.states) == {"a", "b"}


def test_one_failing_api_does_not_stop_the_others() -> None:
    platform, metrics = setup({"a": (2, 1.5), "bad": (2, 1.5), "c": (2, 1.5)})
    platform.fail.add("bad")
    summary = run(platform, metrics, InMemoryScalerStateStore())
    assert sorted(api for api, _, _ in platform.calls) == ["a", "c"]
    assert list(summary.errors) == ["bad"] and "platform unreachable" in summary.errors["bad"]


def test_dry_run_records_but_does_not_apply() -> None:
    platform, metrics = setup({"a": (2, 1.5)})
    summary = run(platform, metrics, store := InMemoryScalerStateStore(), dry_run=True)
    assert platform.calls == [] and summary.changed == 0
    assert [(r.desired, r.applied, r.dry_run) for r in store.decisions] == [(3, False, True)]


def test_a_platform_refusing_changes_is_skipped() -> None:
    platform, metrics = setup({"a": (2, 1.5)}, can_change=False)
    run(platform, metrics, store := InMemoryScalerStateStore())
    assert platform.calls == [] and store.decisions[0].reason == "platform_busy"


def test_an_api_with_nothing_deployed_is_skipped() -> None:
    platform, metrics = setup({"a": (2, 1.0)})
    summary = run(platform, metrics, InMemoryScalerStateStore(), extra=(LiveApi("gone", SPEC, "sagemaker"),))
    assert summary.skipped == ["gone"] and summary.apis == 1


def test_metrics_outage_holds_every_api() -> None:
    platform, metrics = setup({"a": (2, 1.5)})
    metrics.series.clear()
    summary = run(platform, metrics, store := InMemoryScalerStateStore())
    assert platform.calls == [] and store.decisions[0].reason == "stale_metrics" and not summary.errors


def test_platform_wide_cap_shares_the_headroom_in_turn() -> None:
    # a holds at 8; b (4 replicas at 2.0 each: panic to 8) and c (2 -> 4) want +6 together. Cap 19 leaves
    # 19 - (8 + 4 + 2) = 5, granted one at a time b, c, b, c, b: b -> 7, c -> 4.
    platform, metrics = setup({"a": (8, 1.0), "b": (4, 2.0), "c": (2, 2.0)})
    summary = run(platform, metrics, store := InMemoryScalerStateStore(), cap=19)
    assert sorted(platform.calls) == [("b", "v-1", 7), ("c", "v-1", 4)]
    assert {r.api: r.reason for r in summary.records}["b"] == "total_cap"
    assert sum(r.desired for r in store.decisions) == 19


def test_at_max_is_noted_and_emitted() -> None:
    platform, metrics = setup({"a": (40, 2.0)})  # asks for 80, max 50
    summary = run(platform, metrics, InMemoryScalerStateStore())
    record = summary.records[0]
    assert (record.desired, record.at_max) == (50, True)
    doc = emf_document(record)
    assert (doc["AtMaxReplicas"], doc["DesiredReplicas"], doc["Decision"]) == (1, 50, 1)
    # Per API and as a platform-wide total (no dimension), which the at-max alarm watches.
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Api"], []]


def test_state_carries_to_the_next_tick() -> None:
    platform, metrics = setup({"a": (2, 1.0)})
    store = InMemoryScalerStateStore()
    run(platform, metrics, store)
    first = store.states["a"]
    run(platform, metrics, store)
    assert store.states["a"].revision == first.revision + 1
    assert store.states["a"].state.recommendations == first.state.recommendations  # same datapoints, not replayed


def _scale_in_under_lease(expires_at: float | None) -> tuple[list[tuple[str, str, int]], str]:
    """4 replicas nearly idle, no downscale stabilization: a scale-in unless a rollout holds the API."""
    spec = load_spec_text("autoscaling: {max_replicas: 50, downscale_stabilization_seconds: 0}")
    platform, metrics = setup({"a": (4, 0.1)})
    live = LiveApi("a", spec, "sagemaker", lease_expires_at=expires_at)
    summary = tick(
        now=NOW,
        live_apis=lambda: [live],
        platform_for=lambda _: platform,
        metrics=metrics,
        store=InMemoryScalerStateStore(),
        settings=TickSettings(max_total_replicas=200),
    )
    return platform.calls, summary.records[0].reason


def test_a_running_rollouts_lease_holds_scale_in() -> None:
    assert _scale_in_under_lease(NOW.timestamp() + 60) == ([], "rollout")


def test_an_expired_lease_no_longer_holds_scale_in() -> None:
    # A crashed rollout leaves its lease behind; once it has expired the API scales in again.
    calls, reason = _scale_in_under_lease(NOW.timestamp() - 1)
    assert calls == [("a", "v-1", 3)] and reason != "rollout"
    assert _scale_in_under_lease(NOW.timestamp())[1] != "rollout"  # expiring now: no longer held
    assert _scale_in_under_lease(None)[0] == calls


def test_lease_expiry_as_the_registry_reads_it() -> None:
    assert lease_expiry(ApiRecord(api="a")) is None
    assert lease_expiry(ApiRecord(api="a", lease_owner="exec-1", lease_expires_at=100)) == 100.0
    assert lease_expiry(ApiRecord(api="a", lease_owner="exec-1")) == math.inf


def test_the_observation_carries_each_apis_request_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrivals and service time reach the decision alongside in-flight, per API, within the lookback; an API
    whose replicas publish no arrivals (or only the SageMaker fallback) gets none, never zeros."""
    seen: dict[int, Observation] = {}  # by ready replicas: a has 2, b has 3

    def spy(policy: Policy, state: ScalerState, obs: Observation, now: float) -> tuple[Decision, ScalerState]:
        seen[obs.ready] = obs
        return decide(policy, state, obs, now)

    monkeypatch.setattr(sys.modules["axon.autoscaler.tick"], "decide", spy)  # the package re-exports tick()
    platform, metrics = setup({"a": (2, 1.0), "b": (3, 1.0)})
    points = [(t, 30.0, 0.05) for t, _ in minute(0)]
    metrics.requests[SeriesKey("a", "v-1")] = [*points, (NOW.timestamp() + 10, 99.0, 1.0)]  # after now: not read
    run(platform, metrics, InMemoryScalerStateStore())
    assert seen[2].request_points == tuple(points)
    assert seen[3].request_points == () and len(seen[3].points) == 6


def test_a_saturated_apis_demand_is_recorded_and_emitted() -> None:
    """2 replicas, 12 in flight (10 queued), 300 arrivals per 10 s at 1 s: the record says why it scaled."""
    platform, metrics = setup({"a": (2, 6.0)})
    metrics.requests[SeriesKey("a", "v-1")] = [(t, 300.0, 1.0) for t, _ in minute(0)]
    run(platform, metrics, store := InMemoryScalerStateStore())
    [record] = store.decisions
    assert record.demand == pytest.approx(30.0 + 10 / 60, abs=1e-3) and record.reason == "panic"
    assert record.desired == 31 and platform.calls == [("a", "v-1", 31)]
    document = emf_document(record)
    assert document["Demand"] == record.demand and "Forecast" not in document
