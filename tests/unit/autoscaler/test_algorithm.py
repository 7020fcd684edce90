"""Hand-computed cases, one row per rule (as Knative's TestAutoscalerScale), and hypothesis properties."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axon.autoscaler.algorithm import DecisionReason, Observation, decide, stable_recommendation, step_limits
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import Provisioning, ScalerState

T0 = 1_700_000_000.0  # any epoch; datapoints are 10 s apart from here
LAG = 20.0  # now = the newest datapoint's period end + 20 s of CloudWatch lag


def pts(*values: float, start: float = T0) -> tuple[tuple[float, float], ...]:
    return tuple((start + 10 * i, v) for i, v in enumerate(values))


def now_after(points: tuple[tuple[float, float], ...]) -> float:
    return points[-1][0] + 10 + LAG


@dataclass(frozen=True)
class Case:
    name: str
    values: tuple[float, ...]
    requested: int
    want: int
    reason: DecisionReason
    ready: int | None = None  # default: requested
    policy: Policy = field(default_factory=Policy)
    state: ScalerState = field(default_factory=ScalerState)
    can_change: bool = True
    rollout: bool = False
    limit: int | None = None


LONG = 30  # 30 datapoints = 300 s: the timeline covers the downscale window

CASES = [
    Case("steady load keeps the count", (4.0,) * 6, 4, 4, DecisionReason.STEADY),
    Case("rise inside the 5% upscale tolerance is ignored (4.15 < 4.2)", (4.15,) * 6, 4, 4, DecisionReason.STEADY),
    Case("rise past the tolerance scales out (ceil 4.3 = 5)", (4.3,) * 6, 4, 5, DecisionReason.LOAD),
    Case(
        "one step adds at most ceil(4 x 1.5) = 6 (7 in flight, under the 2x panic line)",
        (7.0,) * 6,
        4,
        6,
        DecisionReason.LOAD,
    ),
    Case(
        "upscale window: the lowest recommendation of the last 60 s (4) holds the newest (5)",
        (4.0, 4.0, 4.0, 4.0, 4.0, 6.0),
        4,
        4,
        DecisionReason.STABILIZING,
    ),
    Case("drop inside the 5% downscale tolerance is ignored (3.85 > 3.8)", (3.85,) * LONG, 4, 4, DecisionReason.STEADY),
    Case("one step keeps at least ceil(8 x 0.75) = 6", (1.0,) * LONG, 8, 6, DecisionReason.LOAD),
    Case(
        "downscale window: the highest recommendation of the last 300 s (7) bounds the scale-in",
        (7.0,) * 10 + (5.0,) * 20,
        8,
        7,
        DecisionReason.LOAD,
    ),
    Case(
        "a 10-s burst asking for 9 within the window holds 8 (burst memory)",
        (5.0,) * 15 + (9.0,) + (5.0,) * 14,
        8,
        8,
        DecisionReason.STABILIZING,
    ),
    Case("no scale-in before the timeline covers 300 s (lost history)", (1.0,) * 6, 8, 8, DecisionReason.STABILIZING),
    Case(
        "panic: one datapoint at 2x the requested count scales out at once",
        (1.0,) * 5 + (4.0,),
        2,
        4,
        DecisionReason.PANIC,
    ),
    Case(
        "panic step is capped at 4x the ready replicas (20 asked, 12 given)",
        (3.0,) * 5 + (20.0,),
        3,
        12,
        DecisionReason.PANIC,
        policy=Policy(max_replicas=100),
    ),
    Case(
        "panic never scales in while it lasts",
        (1.0,) * LONG,
        6,
        6,
        DecisionReason.PANIC,
        state=ScalerState(last_panic_at=T0 + 10 * (LONG - 2), panic_since=T0),
    ),
    Case(
        "provisioning accounting: saturated ready replicas, the queue does not ask for more",
        (11.0,) * 6,
        8,
        8,
        DecisionReason.PROVISIONING,
        ready=4,
        state=ScalerState(provisioning=Provisioning(replicas=8, since=T0)),
    ),
    Case(
        "provisioning but not saturated (4 ready x 4 slots = 16 > 11): the signal is demand",
        (11.0,) * 6,
        8,
        11,
        DecisionReason.LOAD,
        ready=4,
        policy=Policy(max_replicas=20, max_concurrency=4),
        state=ScalerState(provisioning=Provisioning(replicas=8, since=T0)),
    ),
    Case(
        "provisioning that arrived before the newest datapoint no longer holds",
        (11.0,) * 6,
        8,
        11,
        DecisionReason.LOAD,
        policy=Policy(max_replicas=20),
        state=ScalerState(provisioning=Provisioning(replicas=8, since=T0 - 300, ready_at=T0 + 40)),
    ),
    Case(
        "provisioning seen arriving now still holds: every datapoint predates it and shows the old queue",
        (11.0,) * 6,
        8,
        8,
        DecisionReason.PROVISIONING,
        policy=Policy(max_replicas=20),
        state=ScalerState(provisioning=Provisioning(replicas=8, since=T0)),
    ),
    Case("below min_replicas is raised to it", (0.0,) * 6, 0, 1, DecisionReason.BOUNDS),
    Case("above max_replicas is capped (14 asked, max 10)", (14.0,) * 6, 9, 10, DecisionReason.BOUNDS),
    Case("a rollout under way holds scale-in", (1.0,) * LONG, 8, 8, DecisionReason.ROLLOUT, rollout=True),
    Case("a rollout does not hold scale-out", (4.3,) * 6, 4, 5, DecisionReason.LOAD, rollout=True),
    Case("the platform refuses changes: hold", (4.3,) * 6, 4, 4, DecisionReason.PLATFORM_BUSY, can_change=False),
    Case("the platform-wide cap trims a scale-out", (7.0,) * 6, 4, 5, DecisionReason.TOTAL_CAP, limit=5),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    points = pts(*case.values)
    obs = Observation(
        points=points,
        ready=case.requested if case.ready is None else case.ready,
        requested=case.requested,
        can_change=case.can_change,
        rollout_in_progress=case.rollout,
        limit=case.limit,
    )
    decision, _ = decide(case.policy, case.state, obs, now_after(points))
    assert (decision.desired, decision.reason) == (case.want, case.reason)


def test_stale_metrics_hold_the_count_and_silence_is_not_zero_load() -> None:
    points = pts(1.0, 1.0)
    late = now_after(points) + Policy().stale_after_seconds
    for obs in (Observation(points, ready=6, requested=6), Observation((), ready=6, requested=6)):
        decision, _ = decide(Policy(), ScalerState(), obs, late)
        assert (decision.desired, decision.reason) == (6, DecisionReason.STALE_METRICS)


def test_stale_metrics_still_respect_a_lowered_max() -> None:
    decision, _ = decide(Policy(max_replicas=4), ScalerState(), Observation((), ready=6, requested=6), T0)
    assert (decision.desired, decision.reason, decision.at_max) == (4, DecisionReason.BOUNDS, True)


def test_panic_starts_and_ends_after_a_full_window_without_crossing() -> None:
    policy = Policy(max_replicas=20)
    burst = pts(1.0, 1.0, 1.0, 1.0, 1.0, 8.0)
    decision, state = decide(policy, ScalerState(), Observation(burst, ready=2, requested=2), now_after(burst))
    assert decision.panicking and state.panic_since == burst[-1][0] and decision.desired == 8
    # Five calm datapoints: 50 s since the crossing, still panicking, and no scale-in.
    calm = burst + pts(*(1.0,) * 5, start=burst[-1][0] + 10)
    decision, state = decide(policy, state, Observation(calm, ready=8, requested=8), now_after(calm))
    assert decision.panicking and decision.desired == 8
    # The sixth calm datapoint completes a 60-s window without crossing: panic is over.
    calm6 = calm + pts(1.0, start=calm[-1][0] + 10)
    decision, state = decide(policy, state, Observation(calm6, ready=8, requested=8), now_after(calm6))
    assert not decision.panicking and state.panic_since is None


def test_each_datapoint_becomes_one_recommendation_once() -> None:
    points = pts(*(3.0,) * 6)
    obs = Observation(points, ready=3, requested=3)
    _, state = decide(Policy(), ScalerState(), obs, now_after(points))
    _, again = decide(Policy(), state, obs, now_after(points) + 60)
    assert len(state.recommendations) == len(again.recommendations) == 6
    assert [r[1] for r in state.recommendations] == [3] * 6


def test_recommendations_older_than_the_longest_window_are_dropped() -> None:
    points = pts(*(3.0,) * 40)  # 400 s of datapoints, downscale window 300 s
    _, state = decide(Policy(), ScalerState(), Observation(points, ready=3, requested=3), now_after(points))
    assert len(state.recommendations) == 30 and state.recommendations[0][0] == points[10][0]


def test_scale_out_starts_provisioning_and_records_the_action() -> None:
    points = pts(*(4.3,) * 6)
    decision, state = decide(Policy(), ScalerState(), Observation(points, ready=4, requested=4), now_after(points))
    assert state.provisioning is not None and state.provisioning.replicas == decision.desired == 5
    assert state.last_action is not None and (state.last_action.previous, state.last_action.desired) == (4, 5)


@pytest.mark.parametrize(
    ("in_flight", "requested", "want"),
    [(8.3, 8, 8), (7.7, 8, 8), (8.5, 8, 9), (7.5, 8, 8), (2.1, 1, 3), (0.0, 1, 0)],
)
def test_stable_recommendation_tolerance_band(in_flight: float, requested: int, want: int) -> None:
    assert stable_recommendation(Policy(min_replicas=0), in_flight, requested) == want


@pytest.mark.parametrize(("requested", "want"), [(8, (6, 12)), (1, (0, 2)), (2, (1, 3)), (10, (8, 15))])
def test_step_limits(requested: int, want: tuple[int, int]) -> None:
    assert step_limits(Policy(), requested) == want


def test_target_rounding_does_not_add_a_replica_for_float_noise() -> None:
    assert Policy(target_in_flight=0.7).replicas_for(3 * 0.7) == 3


# --- properties ---------------------------------------------------------------------------------------------

policies = st.builds(
    lambda lo, span, target, conc: Policy(
        min_replicas=lo, max_replicas=lo + span, target_in_flight=target, max_concurrency=conc
    ),
    st.integers(0, 5),
    st.integers(1, 30),
    st.sampled_from([0.5, 0.7, 1.0, 2.0, 4.0]),
    st.integers(1, 4),
)
minutes = st.lists(
    st.tuples(
        st.lists(st.floats(0, 200, allow_nan=False), min_size=0, max_size=6),  # this minute's datapoints
        st.booleans(),  # rollout under way
        st.integers(0, 3),  # replicas still starting
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=150, deadline=None)
@given(policy=policies, run=minutes, start=st.integers(0, 30))
def test_never_outside_bounds_and_never_scale_in_while_panicking(
    policy: Policy, run: list[tuple[list[float], bool, int]], start: int
) -> None:
    state, requested, history = ScalerState(), policy.clamp(start), []
    for minute, (values, rollout, starting) in enumerate(run):
        history += [(T0 + 60 * minute + 10 * i, v) for i, v in enumerate(values)]
        ready = max(0, requested - starting)
        obs = Observation(tuple(history[-22:]), ready=ready, requested=requested, rollout_in_progress=rollout)
        decision, state = decide(policy, state, obs, T0 + 60 * minute + 80)
        assert policy.min_replicas <= decision.desired <= policy.max_replicas
        if decision.panicking or rollout:
            assert decision.desired >= requested
        requested = decision.desired


@settings(max_examples=100, deadline=None)
@given(policy=policies, values=st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=30))
def test_a_platform_that_refuses_changes_is_never_asked_for_one(policy: Policy, values: list[float]) -> None:
    points = pts(*values)
    obs = Observation(points, ready=3, requested=3, can_change=False)
    decision, _ = decide(policy, ScalerState(), obs, now_after(points))
    assert decision.desired == 3
