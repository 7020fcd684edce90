"""Async APIs on their backlog: the queue outside the replicas is load, ``min_replicas: 0`` is honoured, and an API
with no replica starts one at the first waiting request. Hand-computed cases; each fails without the rule it names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from axon.autoscaler.algorithm import DecisionReason, Observation, decide
from axon.autoscaler.demand import Load, with_backlog
from axon.autoscaler.metrics import BACKLOG_SAGEMAKER, BACKLOG_SQS, SeriesKey
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import InMemoryScalerStateStore
from axon.autoscaler.tick import LiveApi, TickSettings, tick
from axon.platforms.base import Capacity
from axon.spec import load_spec_text
from tests.unit.autoscaler.fakes import FakeMetrics, FakePlatform

T0 = 1_700_000_040.0  # a minute boundary
ASYNC = load_spec_text(
    "kind: async\nautoscaling: {min_replicas: 0, max_replicas: 8, downscale_stabilization_seconds: 60}"
)
POLICY = Policy.from_spec(ASYNC)


# --- the load ------------------------------------------------------------------------------------------------------


def test_waiting_requests_add_their_work_and_in_flight_is_not_counted_twice() -> None:
    # 2 in flight, backlog 242 (the 2 included): 240 wait, x 0.5 s over 60 s = 2 more slots.
    [load] = with_backlog([Load(T0 + 10, 2.0)], [(T0, 242.0, 0.0)], period=60, service_estimate=0.5, drain_seconds=60)
    assert load.value == pytest.approx(4.0)
    # A backlog no larger than what is in flight adds nothing.
    [same] = with_backlog([Load(T0 + 10, 3.0)], [(T0, 3.0, 0.0)], period=60, service_estimate=0.5, drain_seconds=60)
    assert same == Load(T0 + 10, 3.0)


def test_without_a_service_time_each_waiting_request_is_a_slot() -> None:
    [load] = with_backlog([Load(T0 + 10, 1.0)], [(T0, 6.0, 0.0)], period=60, service_estimate=None, drain_seconds=60)
    assert load.value == 6.0


def test_a_backlog_minute_with_no_replica_datapoint_stands_alone() -> None:
    measured = with_backlog(
        [Load(T0 + 10, 1.0)], [(T0, 1.0, 0.0), (T0 + 60, 5.0, 1.0)], period=60, service_estimate=None, drain_seconds=60
    )
    assert [(m.at, m.value) for m in measured] == [(T0 + 10, 1.0), (T0 + 60, 5.0)]


# --- the policy ----------------------------------------------------------------------------------------------------


def test_async_apis_keep_min_replicas_zero_and_real_time_ones_one() -> None:
    assert Policy.from_spec(ASYNC).min_replicas == 0
    assert Policy.from_spec(load_spec_text("autoscaling: {min_replicas: 0}")).min_replicas == 1


# --- from zero -----------------------------------------------------------------------------------------------------


def backlog_only(size: float, at: float = T0, flag: float = 1.0) -> Observation:
    return Observation(points=(), ready=0, requested=0, backlog_points=((at, size, flag),))


def test_one_waiting_request_starts_a_replica_at_once() -> None:
    decision, _ = decide(POLICY, ScalerState(), backlog_only(1.0), now=T0 + 90)
    assert (decision.desired, decision.reason) == (1, DecisionReason.FROM_ZERO)


def test_a_large_backlog_with_no_service_time_known_starts_at_most_four() -> None:
    decision, _ = decide(POLICY, ScalerState(), backlog_only(50.0), now=T0 + 90)
    assert (decision.desired, decision.reason) == (4, DecisionReason.FROM_ZERO)
    # With a service time learned before the API went to zero: 50 x 0.6 s over 60 s = 0.5 slots, one replica.
    decision, _ = decide(POLICY, ScalerState(service_seconds=0.6), backlog_only(50.0), now=T0 + 90)
    assert decision.desired == 1


def test_no_waiting_request_or_an_old_datapoint_keeps_zero() -> None:
    for obs, now in ((backlog_only(0.0, flag=0.0), T0 + 90), (backlog_only(3.0), T0 + 60 + 150 + 60 + 1)):
        decision, _ = decide(POLICY, ScalerState(), obs, now=now)
        assert decision.desired == 0, obs


def test_the_platform_refusing_changes_holds_zero() -> None:
    obs = Observation(points=(), ready=0, requested=0, can_change=False, backlog_points=((T0, 2.0, 1.0),))
    decision, _ = decide(POLICY, ScalerState(), obs, now=T0 + 90)
    assert (decision.desired, decision.reason) == (0, DecisionReason.PLATFORM_BUSY)


def test_a_real_time_api_never_goes_to_zero() -> None:
    policy = Policy.from_spec(load_spec_text("autoscaling: {min_replicas: 0, downscale_stabilization_seconds: 60}"))
    state, requested = ScalerState(), 1
    for minute in range(6):
        idle = tuple((T0 + 60 * minute + t, 0.0) for t in range(0, 60, 10))
        decision, state = decide(policy, state, Observation(idle, requested, requested), T0 + 60 * minute + 80)
        requested = decision.desired
    assert requested == 1


# --- the whole cycle -----------------------------------------------------------------------------------------------


def test_zero_to_one_on_backlog_then_back_to_zero_after_the_idle_window() -> None:
    """A request waits at T0 with no replica: one starts; it serves for two minutes with the backlog draining; then
    idle for the 60-s downscale window, and the API is at zero again. While a request waits or runs it stays up."""
    state, requested, ready, path = ScalerState(), 0, 0, []
    for minute in range(8):
        start, now = T0 + 60 * minute, T0 + 60 * minute + 80
        busy = 1 <= minute <= 2  # the replica works through the queue
        points = tuple((start + t, 1.0 if busy else 0.0) for t in range(0, 60, 10)) if ready else ()
        size = 3.0 if minute == 0 else (1.0 if busy else 0.0)
        obs = Observation(points, ready, requested, backlog_points=((start, size, 1.0 if not ready and size else 0.0),))
        decision, state = decide(POLICY, state, obs, now)
        requested = ready = decision.desired  # the replica starts within the minute
        path.append((requested, decision.reason.value))
    counts = [count for count, _ in path]
    assert path[0] == (3, "from_zero")  # 3 waiting, no service time yet: a slot each
    assert min(counts[:3]) >= 1  # never down while requests wait or run
    assert counts[-1] == 0 and max(counts[-3:]) <= 1


# --- the tick ------------------------------------------------------------------------------------------------------


def test_the_tick_reads_the_backlog_of_async_apis_only_and_scales_from_zero() -> None:
    now = datetime.fromtimestamp(T0 + 90, UTC)
    platform, metrics = FakePlatform(), FakeMetrics()
    platform.capacities["jobs"] = Capacity("v-1", 0, 0, True)
    platform.capacities["chat"] = Capacity("v-1", 1, 1, True)
    metrics.backlog[SeriesKey("jobs", "v-1", "", BACKLOG_SAGEMAKER)] = [(T0, 2.0, 1.0)]
    metrics.series[SeriesKey("chat", "v-1")] = [(T0 + 10 * i, 0.5) for i in range(6)]
    lives = [LiveApi("jobs", ASYNC, "sagemaker"), LiveApi("chat", load_spec_text("{}"), "sagemaker")]
    summary = tick(
        now=now,
        live_apis=lambda: lives,
        platform_for=lambda _: platform,
        metrics=metrics,
        store=InMemoryScalerStateStore(),
        settings=TickSettings(max_total_replicas=10),
    )
    assert not summary.errors, summary.errors
    assert platform.capacities["jobs"].requested == 2 and platform.calls[-1] == ("jobs", "v-1", 2)
    assert LiveApi("chat", load_spec_text("{}"), "sagemaker").backlog == ""
    assert LiveApi("jobs", ASYNC, "ecs").backlog == BACKLOG_SQS
