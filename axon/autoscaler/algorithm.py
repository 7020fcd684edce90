"""The scaling decision: a pure function of the policy, the remembered state, one observation and ``now``.

No clock, no logging, no AWS: the Lambda (``tick.py``) and the simulator (``bench/autoscaler``) call the same
:func:`decide`, so what the benchmark measures is what runs in production.

How it works, for one API, once a minute (numbers use the defaults: target 1, window 60 s, factors 0.75/1.5):

1. **Load, not just in-flight.** Each 10-s datapoint's load is its in-flight, or, when it was saturated (more in
   flight than ready slots: a queue), arrivals x service time from the same period (Little's law,
   :mod:`axon.autoscaler.demand`): a queue is not a rate, and a full queue hides how large the rate is.
2. **Cortex, replayed at 10 s.** Each new datapoint gets the recommendation Cortex would have made at that instant
   (``ceil(60-s mean load / target)`` with the 5% tolerance band), so the 60-s upscale and 300-s downscale windows
   hold 6 and 30 recommendations, as in Cortex. Scale-in goes no lower than the largest stable or single-datapoint
   recommendation of the downscale window: capacity a 10-s burst needed stays through a short lull.
3. **Panic (Knative's KPA).** A datapoint asking for ``panic_threshold`` (2x) the requested replicas starts panic:
   go to that datapoint's count at once, skipping the upscale window; never scale in until a full window passes
   with no datapoint over the threshold. A step sized on arrivals x service time goes at most to
   ``demand_max_upscale_factor`` (25x) the requested count; one sized on a saturated in-flight alone (no request
   data) at most to ``panic_max_upscale_factor`` (4x) the *ready* count, and not again before those serve.
4. **Forecasts** (:mod:`axon.autoscaler.forecast`). A per-minute history of the load (a day) shows recurring
   bursts, whose capacity is asked for one provisioning time (learned from the API's own scale-outs) ahead and
   held across shorter gaps, and smooth rises, extrapolated as far. A forecast only raises the count or slows a
   scale-in.
5. **Step limits.** One stable decision moves at most to ``ceil(1.5 x requested)`` up and ``ceil(0.75 x
   requested)`` down (always +/-1 allowed): 24 -> 18 -> 14 -> 11 a minute apart once load is gone.
6. **Async APIs** also count the requests waiting in their queue outside the replicas (SageMaker's backlog or the
   ECS API's SQS queue, a minute per datapoint), their work drained over ``backlog_drain_seconds``; they may scale to
   ``min_replicas: 0``, and one with no replica requested starts one at the first waiting request (``from_zero``).
7. **Guardrails.** No datapoint newer than ``stale_after_seconds``: hold (silence is not zero load). A rollout under
   way: no scale-in. The platform refuses changes (SageMaker not ``InService``): hold. The result always lies
   within ``[min_replicas, max_replicas]``, and a scale-out never passes the share of the platform-wide cap that
   ``tick.py`` computes across APIs (``Observation.limit``).

Every decision records its reason (:class:`DecisionReason`) and the load, demand and forecast behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from axon.autoscaler.demand import loads, smoothed_service, with_backlog
from axon.autoscaler.forecast import Forecast, burst_forecast, trend_forecast
from axon.autoscaler.policy import BACKLOG_DATAPOINT_SECONDS, DATAPOINT_SECONDS, Policy
from axon.autoscaler.state import LastAction, Provisioning, ScalerState
from axon.autoscaler.window import window_max, window_mean, window_min


class DecisionReason(StrEnum):
    """Why the decision is what it is (recorded with every decision)."""

    LOAD = "load"  # the stable (60-s) signal moved the count
    PANIC = "panic"  # a burst in the 10-s datapoints moved the count
    FORECAST_BURST = "forecast_burst"  # a recurring burst is due within one provisioning time: raised or held
    FORECAST_TREND = "forecast_trend"  # a smooth rise, extrapolated one provisioning time ahead, raised the count
    STEADY = "steady"  # the load asks for the count already requested
    STABILIZING = "stabilizing"  # a change is wanted but a stabilization window or short history holds it
    PROVISIONING = "provisioning"  # more is wanted but requested replicas are still starting
    STALE_METRICS = "stale_metrics"  # no fresh datapoint: the count is held
    ROLLOUT = "rollout"  # scale-in is held while a rollout is under way
    PLATFORM_BUSY = "platform_busy"  # the platform refuses capacity changes right now
    BOUNDS = "bounds"  # min_replicas / max_replicas moved the count
    TOTAL_CAP = "total_cap"  # the platform-wide cap on replicas across all APIs trimmed a scale-out
    FROM_ZERO = "from_zero"  # an async API with no replica has requests waiting: started at once


class Action(StrEnum):
    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    HOLD = "hold"


@dataclass(frozen=True)
class Observation:
    """What the shell measured for one API just before deciding."""

    points: tuple[tuple[float, float], ...]  # (10-s period start, epoch s; total in-flight over ready replicas)
    ready: int  # replicas serving traffic (Platform.capacity().ready)
    requested: int  # replicas asked for, starting ones included (Platform.capacity().requested)
    can_change: bool = True  # False while the platform refuses capacity changes
    rollout_in_progress: bool = False
    limit: int | None = None  # most replicas the platform-wide cap leaves this API now (tick.py); None: no cap
    request_points: tuple[tuple[float, float, float], ...] = ()  # (10-s period start; requests that arrived in it,
    # refused ones included; mean service seconds of the requests served in it, queueing excluded; 0 with none. The
    # runtime counts a request's service in the period it finished, the simulator in the one it started: both are
    # estimates of the same mean, and the decision only uses it times a rate)
    backlog_points: tuple[tuple[float, float, float], ...] = ()  # async APIs: (60-s period start; most requests
    # queued or being processed outside the replicas in it; 1.0 when some waited with no replica, else 0.0)


@dataclass(frozen=True)
class Decision:
    """The count to request and why; ``desired == previous`` means nothing to apply."""

    desired: int
    previous: int
    reason: DecisionReason
    recommendation: int | None = None  # newest stable (Cortex) recommendation
    stable_in_flight: float | None = None  # mean in-flight of the newest window
    peak_in_flight: float | None = None  # largest 10-s datapoint of the newest window
    panicking: bool = False
    at_max: bool = False  # the API sits at max_replicas (the shell raises an alarm and notes it)
    demand: float | None = None  # the newest datapoint's arrivals x service time, when it was saturated
    forecast: int | None = None  # replicas a forecast asks for over the lead time
    period_seconds: float | None = None  # the recurrence of the bursts behind a burst forecast

    @property
    def action(self) -> Action:
        if self.desired > self.previous:
            return Action.SCALE_UP
        if self.desired < self.previous:
            return Action.SCALE_DOWN
        return Action.HOLD


def stable_recommendation(policy: Policy, in_flight: float, requested: int) -> int:
    """Replicas for a mean ``in_flight``, kept at ``requested`` inside the tolerance band (Cortex).

    Worked example, 8 requested, 5% bands: 8.3 in flight lies in (8, 8.4), stay at 8; 7.7 lies in (7.6, 8),
    stay at 8; 8.5 asks for 9; 7.5 asks for 8 (ceil), not 7.
    """
    raw = round(in_flight / policy.target_in_flight, 9)
    if requested * (1 - policy.downscale_tolerance) < raw < requested * (1 + policy.upscale_tolerance):
        return requested
    return math.ceil(raw)


def step_limits(policy: Policy, requested: int) -> tuple[int, int]:
    """The lowest and highest count one decision may move to from ``requested``.

    Worked example, 8 requested: down to min(8 - 1, ceil(8 x 0.75)) = 6, up to max(8 + 1, ceil(8 x 1.5)) = 12.
    At 1 requested the +/-1 rule allows 0 and 2.
    """
    low = min(requested - 1, math.ceil(requested * policy.max_downscale_factor))
    high = max(requested + 1, math.ceil(requested * policy.max_upscale_factor))
    return low, high


def decide(policy: Policy, state: ScalerState, obs: Observation, now: float) -> tuple[Decision, ScalerState]:
    """The count to request for one API now, and the state to remember for the next run.

    Examples
    --------
    Six datapoints at 4 in flight with 2 requested: the panic threshold (4 >= 2 x 2) is crossed, so the
    count goes to 4 at once, without waiting for the 60-s upscale window.

    >>> obs = Observation(points=tuple((t, 4.0) for t in range(0, 60, 10)), ready=2, requested=2)
    >>> decision, _ = decide(Policy(), ScalerState(), obs, now=80.0)
    >>> decision.desired, decision.reason.value
    (4, 'panic')
    """
    requested = obs.requested
    fresh_requests = [r for r in obs.request_points if state.last_point_at is None or r[0] > state.last_point_at]
    service = smoothed_service(state.service_seconds, sorted(fresh_requests))
    measured = loads(
        sorted(obs.points),
        obs.request_points,
        slots_at=lambda at: state.ready_at(at, obs.ready) * policy.max_concurrency,
        service_estimate=service,
        drain_seconds=policy.backlog_drain_seconds,
    )
    if obs.backlog_points:
        measured = with_backlog(
            measured,
            obs.backlog_points,
            period=BACKLOG_DATAPOINT_SECONDS,
            service_estimate=service,
            drain_seconds=policy.backlog_drain_seconds,
        )
    points = tuple((load.at, load.value) for load in measured)
    timeline = _replay(policy, state, points, requested)
    newest = points[-1][0] if points else None
    provisioning, learned = _pending(policy, state, obs, now, newest)
    timeline = replace(
        timeline,
        history=state.history.record(
            (m.at, m.need) for m in measured if state.last_point_at is None or m.at > state.last_point_at
        ),
        service_seconds=service,
        provisioning_seconds=learned,
        ready_log=(*(e for e in state.ready_log if e[0] > now - policy.lookback_seconds), (now, obs.ready)),
    )
    stable = peak = None
    if newest is not None:
        stable = window_mean(points, newest, policy.window_seconds)
        peak = window_max(points, newest, policy.window_seconds)

    rec: int | None = None
    forecast: Forecast | None = None
    if newest is None or now - newest > policy.stale_after_seconds or not timeline.recommendations:
        # Cost guardrail: silence is never read as zero load; only the user's own bounds may move the count.
        desired, reason = requested, DecisionReason.STALE_METRICS
    else:
        rec = timeline.recommendations[-1][1]
        desired, reason = _stabilized(policy, timeline, rec, requested)
        window = [m for m in measured if m.at > points[-1][0] - policy.window_seconds]
        demands = [m.demand for m in window if m.demand is not None]
        rate_sized = policy.replicas_for(max(demands)) if demands else 0
        saturated = any(m.saturated for m in window)
        if desired > requested and provisioning is not None and saturated:
            # Worked example, 1 slot each: 4 -> 8 requested at 12:00, 4 ready at 12:01 with 11 in flight, so 7 are
            # queued and the queue grows until the new replicas serve: it says "more than 4", not "11". Only a
            # rate (arrivals x service time) above what is already requested may ask for more meanwhile, and
            # only as much as the rate says.
            if rate_sized > requested:
                desired = min(desired, rate_sized)
            else:
                desired, reason = requested, DecisionReason.PROVISIONING
        if timeline.panic_since is not None:
            # Panic follows the newest datapoint, as Knative follows its 6-s panic window, and holds the count. A
            # saturated in-flight holds a queue, so on its own it may ask for 4x the replicas that serve, and
            # nothing more while a scale-out is under way; the rate (arrivals x service time, backlog drained
            # over a minute) may ask for what it says, up to 25x the requested count. Worked example, 7 ready,
            # 706 in flight (the queue full), 200 arrivals per 10 s at 1 s: 4 x 7 = 28 by in-flight, but the
            # rate is 20 + 699 / 60 = 31.7, so ceil(31.7 / 0.7) = 46.
            by_queue = (
                requested
                if provisioning is not None
                else math.ceil(max(obs.ready, 1) * policy.panic_max_upscale_factor)
            )
            by_rate = min(rate_sized, math.ceil(max(requested, 2) * policy.demand_max_upscale_factor))
            burst = min(policy.replicas_for(points[-1][1]), by_rate if demands else by_queue)
            if burst > desired or desired < requested:
                desired, reason = max(burst, requested), DecisionReason.PANIC
        forecast = _forecast(policy, timeline, now)
        expected = _forecast_replicas(policy, forecast)
        if forecast is not None and expected > desired:
            desired = expected
            reason = DecisionReason.FORECAST_BURST if forecast.kind == "burst" else DecisionReason.FORECAST_TREND
        elif (
            forecast is not None
            and forecast.confirmed
            and reason is DecisionReason.STABILIZING
            and rec < requested
            and timeline.panic_since is None
        ):
            # The bursts recur (a confirmed period) and none is due within one provisioning time: the downscale window's memory of the
            # last one would only hold idle capacity across a gap longer than re-provisioning costs. Step limit kept.
            desired, reason = max(rec, expected, step_limits(policy, requested)[0]), DecisionReason.FORECAST_BURST
    wake = _from_zero(policy, obs, now, service)
    if wake >= desired and wake > 0:
        desired, reason = wake, DecisionReason.FROM_ZERO
    if desired < requested and obs.rollout_in_progress:
        desired, reason = requested, DecisionReason.ROLLOUT
    if policy.clamp(desired) != desired:
        desired, reason = policy.clamp(desired), DecisionReason.BOUNDS
    if obs.limit is not None and desired > max(obs.limit, requested, policy.min_replicas):
        # The cap trims scale-outs only: it never takes an API below what it has or below min_replicas.
        desired, reason = max(obs.limit, requested, policy.min_replicas), DecisionReason.TOTAL_CAP
    if desired != requested and not obs.can_change:
        desired, reason = requested, DecisionReason.PLATFORM_BUSY

    decision = Decision(
        desired=desired,
        previous=requested,
        reason=reason,
        recommendation=rec,
        stable_in_flight=stable,
        peak_in_flight=peak,
        panicking=timeline.panic_since is not None,
        at_max=desired >= policy.max_replicas,
        demand=measured[-1].demand if measured else None,
        forecast=_forecast_replicas(policy, forecast) if forecast is not None else None,
        period_seconds=forecast.period_seconds if forecast is not None else None,
    )
    return decision, _remember(timeline, provisioning, decision, now)


def _from_zero(policy: Policy, obs: Observation, now: float, service: float | None) -> int:
    """Replicas to start at once for an API with none requested while requests wait (0: nothing to do).

    The stabilization windows exist to tell a lasting rise from noise among replicas that serve; with none, every
    waiting request waits for a cold start, so the first replica is asked for at the first backlog seen (Knative's
    activator does the same). Sized like a panic step without request data: the waiting work over the drain time,
    at most ``panic_max_upscale_factor`` replicas (4), since no replica has measured a service time yet.
    Worked example: a backlog of 10 with no service time known starts 4; a backlog of 1 starts 1.
    """
    if obs.requested > 0 or not obs.backlog_points:
        return 0
    at, size, no_capacity = max(obs.backlog_points)
    if now - at > policy.stale_after_seconds + BACKLOG_DATAPOINT_SECONDS or (size <= 0 and no_capacity <= 0):
        return 0
    work = size * service / policy.backlog_drain_seconds if service else size
    return max(1, min(policy.replicas_for(work), math.ceil(policy.panic_max_upscale_factor)))


TREND_UTILIZATION = 0.9  # a trend forecast sizes slots this full: the target's headroom is for the lag it removes


def _forecast_replicas(policy: Policy, forecast: Forecast | None) -> int:
    """Replicas for a forecast load. A burst (a peak from history) gets the target's headroom; a trend is already
    the load one lead ahead, so it gets slots filled to :data:`TREND_UTILIZATION`, not the target's headroom again:
    on slow rises the reactive path's own headroom meets the SLO, and twice the headroom is cost for nothing."""
    if forecast is None:
        return 0
    if forecast.kind == "trend":
        return math.ceil(round(forecast.load / (policy.max_concurrency * TREND_UTILIZATION), 9))
    return policy.replicas_for(forecast.load)


def _forecast(policy: Policy, timeline: ScalerState, now: float) -> Forecast | None:
    """The larger of the burst and trend forecasts over one provisioning time plus one decision interval."""
    lead = (timeline.provisioning_seconds or policy.provisioning_seconds) + policy.decision_interval_seconds
    found = [
        f
        for f in (
            burst_forecast(timeline.history, policy.replicas_for, now, lead),
            trend_forecast(timeline.history, now, lead),
        )
        if f is not None
    ]
    return max(found, key=lambda f: f.load) if found else None


def _replay(policy: Policy, state: ScalerState, points: tuple[tuple[float, float], ...], requested: int) -> ScalerState:
    """Turn every datapoint not seen before into recommendations and a panic check, as Cortex's 10-s loop."""
    recs = state.recommendations
    started_at, last_point_at, last_panic_at = state.started_at, state.last_point_at, state.last_panic_at
    for ts, value in points:
        if last_point_at is not None and ts <= last_point_at:
            continue
        mean = window_mean(points, ts, policy.window_seconds)
        burst = policy.replicas_for(value)
        recs += ((ts, stable_recommendation(policy, value if mean is None else mean, requested), burst),)
        # 2x threshold, 5 requested: a datapoint at 10 in flight (10 replicas at target 1) starts panic.
        if burst >= policy.panic_threshold * max(requested, 1):
            last_panic_at = ts
        started_at = ts if started_at is None else started_at
        last_point_at = ts
    panic_since = None
    if (
        last_panic_at is not None
        and last_point_at is not None
        and last_point_at - last_panic_at < policy.window_seconds
    ):
        # Panic lasts until a full window of datapoints (60 s) passes with none over the threshold (Knative).
        panic_since = last_panic_at if state.panic_since is None else state.panic_since
    if last_point_at is not None:
        recs = tuple(r for r in recs if r[0] > last_point_at - policy.history_seconds)
    return replace(
        state,
        started_at=started_at,
        last_point_at=last_point_at,
        last_panic_at=last_panic_at,
        panic_since=panic_since,
        recommendations=recs,
    )


def _stabilized(policy: Policy, timeline: ScalerState, rec: int, requested: int) -> tuple[int, DecisionReason]:
    """Cortex's stabilization over the 10-s timeline, then one step limit.

    Scale-out goes only to the lowest stable recommendation of the last 60 s (all six datapoints agree);
    scale-in only to the highest stable or burst recommendation of the last 300 s. Worked example, 10
    requested, stable recommendations of the last five minutes 6..7, one 10-s burst asking for 9 four
    minutes ago, the newest 6: scale in to 9, not 6 (and the step limit allows 8, so 9 it is). Neither
    happens before the timeline covers the window (a brand-new API, or one whose history was lost).
    """
    recs, newest, since = timeline.recommendations, timeline.last_point_at, timeline.started_at
    assert newest is not None and since is not None  # a timeline with recommendations has both
    covered = newest - since + DATAPOINT_SECONDS
    low, high = step_limits(policy, requested)
    if rec > requested:
        if covered < policy.upscale_stabilization_seconds:
            return requested, DecisionReason.STABILIZING
        lowest = window_min(((ts, s) for ts, s, _ in recs), newest, policy.upscale_stabilization_seconds)
        desired = min(rec, max(int(lowest), requested), high) if lowest is not None else min(rec, high)
    elif rec < requested:
        if covered < policy.downscale_stabilization_seconds:
            return requested, DecisionReason.STABILIZING
        highest = window_max(((ts, max(s, b)) for ts, s, b in recs), newest, policy.downscale_stabilization_seconds)
        desired = max(rec, min(int(highest or 0), requested), low)
    else:
        return requested, DecisionReason.STEADY
    return desired, DecisionReason.LOAD if desired != requested else DecisionReason.STABILIZING


PROVISIONING_SMOOTHING = 0.5  # weight of a new scale-out's observed start time in the running estimate


def _pending(
    policy: Policy, state: ScalerState, obs: Observation, now: float, newest: float | None
) -> tuple[Provisioning | None, float | None]:
    """The scale-out still under way, and the provisioning-time estimate.

    A scale-out is under way until its replicas serve *and* a datapoint newer than the decision that saw them
    serve exists (older ones still show the queue they came to drain), or until it is too old to wait for. The
    estimate learns from each arrival, as seen at a decision: up to one interval late, the safe side for a lead.
    """
    provisioning, learned = state.provisioning, state.provisioning_seconds
    if provisioning is None:
        return None, learned
    if provisioning.ready_at is None and obs.ready >= min(provisioning.replicas, obs.requested):
        took = now - provisioning.since
        learned = round(took if learned is None else learned + PROVISIONING_SMOOTHING * (took - learned), 1)
        provisioning = replace(provisioning, ready_at=now)
    if provisioning.ready_at is not None and newest is not None and newest >= provisioning.ready_at:
        return None, learned
    if now - provisioning.since > policy.provisioning_timeout_seconds:
        return None, learned
    return provisioning, learned


def _remember(timeline: ScalerState, provisioning: Provisioning | None, decision: Decision, now: float) -> ScalerState:
    """The state after ``decision`` is applied: provisioning starts on scale-out, ends on scale-in."""
    if decision.desired > decision.previous:
        provisioning = Provisioning(replicas=decision.desired, since=now)
    elif decision.desired < decision.previous:
        provisioning = None
    last = timeline.last_action
    if decision.desired != decision.previous:
        last = LastAction(at=now, previous=decision.previous, desired=decision.desired, reason=decision.reason.value)
    return replace(timeline, provisioning=provisioning, last_action=last)
