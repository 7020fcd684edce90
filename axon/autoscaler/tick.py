"""One autoscaler run over every live API: load states, one batched metric fetch, decide, apply, persist.

The fetch brings each API's in-flight points and its demand points (arrivals and service time per 10-s period,
``Observation.request_points``) from the same calls, and an async API's backlog (``Observation.backlog_points``);
any may be missing, and the decision copes.

Per-API isolation: whatever one API raises (its platform, its state write, its decision record) is caught,
reported in the summary and the others go on. Only a failure that concerns every API (listing them, loading
states) ends the run, and the next minute's run starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from axon.autoscaler.algorithm import Action, Decision, Observation, decide
from axon.autoscaler.metrics import BACKLOG_SAGEMAKER, BACKLOG_SQS, MetricSource, SeriesKey, Signals
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, ScalerStateStore, StoredState
from axon.platforms.base import Capacity, Platform
from axon.spec import ApiSpec


@dataclass(frozen=True)
class LiveApi:
    """An API the registry says is live: what the tick needs from the registry, nothing more."""

    api: str
    spec: ApiSpec
    platform: str  # compute.platform: "sagemaker" | "ecs"
    lease_expires_at: float | None = None  # epoch seconds; None: no rollout holds the API's lease
    signal_key: str = ""  # the live version's signal key: the dimension its replicas' signal carries

    @property
    def backlog(self) -> str:
        """Where the API's queue outside its replicas is measured: async APIs only (``SeriesKey.backlog``)."""
        if self.spec.kind != "async":
            return ""
        return BACKLOG_SAGEMAKER if self.platform == "sagemaker" else BACKLOG_SQS

    def rollout_in_progress(self, now: float) -> bool:
        """A rollout holds scale-in only while its lease runs: a crashed rollout's lease expires, and with it
        the hold, so the API can scale in again."""
        return self.lease_expires_at is not None and self.lease_expires_at > now


@dataclass(frozen=True)
class TickSettings:
    max_total_replicas: int  # platform-wide cap across all APIs (Settings.max_total_replicas)
    dry_run: bool = False  # record decisions, apply nothing (Settings.autoscaler_dry_run)


@dataclass
class TickSummary:
    """What happened, for the handler's log line and EMF metrics."""

    at: str
    apis: int = 0
    changed: int = 0
    records: list[DecisionRecord] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # api -> "code: message"
    skipped: list[str] = field(default_factory=list)  # nothing deployed
    metrics_error: str | None = None


@dataclass
class _Api:
    live: LiveApi
    platform: Platform
    capacity: Capacity
    policy: Policy
    stored: StoredState | None = None
    obs: Observation | None = None
    decision: Decision | None = None
    state: ScalerState | None = None


def tick(
    *,
    now: datetime,
    live_apis: Callable[[], Sequence[LiveApi]],
    platform_for: Callable[[str], Platform],
    metrics: MetricSource,
    store: ScalerStateStore,
    settings: TickSettings,
) -> TickSummary:
    """Scale every live API once; ``now`` is the scheduled time of the run (timezone-aware).

    Examples
    --------
    >>> summary = tick(now=datetime.now(UTC), live_apis=lambda: live_apis(registry),  # doctest: +SKIP
    ...                platform_for=platform_for, metrics=CloudWatchMetricSource(),
    ...                store=DynamoDbScalerStateStore(table), settings=TickSettings(max_total_replicas=200))
    """
    summary = TickSummary(at=now.astimezone(UTC).isoformat())
    apis = _capacities(live_apis(), platform_for, summary)
    stored = store.load([a.live.api for a in apis])
    keys = {a.live.api: SeriesKey(a.live.api, a.capacity.variant, a.live.signal_key, a.live.backlog) for a in apis}
    lookback = max((a.policy.lookback_seconds for a in apis), default=0)
    try:
        signals = metrics.signals(list(keys.values()), now - timedelta(seconds=lookback), now) if apis else {}
    except Exception as error:
        summary.metrics_error, signals = repr(error), {}
    epoch = now.timestamp()
    for a in apis:
        a.stored = stored.get(a.live.api)
        signal = signals.get(keys[a.live.api], Signals())
        a.obs = Observation(
            points=tuple(signal.in_flight),
            request_points=tuple(signal.requests),
            backlog_points=tuple(signal.backlog),
            ready=a.capacity.ready,
            requested=a.capacity.requested,
            can_change=a.capacity.can_change,
            rollout_in_progress=a.live.rollout_in_progress(epoch),
        )
        _guarded(summary, a.live.api, partial(_decide, a, epoch))
    _apply_total_cap([a for a in apis if a.decision is not None], settings.max_total_replicas, epoch)
    for a in apis:
        if a.decision is not None:
            _guarded(summary, a.live.api, partial(_finish, a, store, settings.dry_run, summary))
    summary.apis = len(apis)
    return summary


def _capacities(lives: Sequence[LiveApi], platform_for: Callable[[str], Platform], summary: TickSummary) -> list[_Api]:
    apis: list[_Api] = []
    for live in lives:

        def read(live: LiveApi = live) -> None:
            platform = platform_for(live.platform)
            capacity = platform.capacity(live.api)
            if capacity is None:
                summary.skipped.append(live.api)
            else:
                apis.append(_Api(live, platform, capacity, Policy.from_spec(live.spec)))

        _guarded(summary, live.api, read)
    return apis


def _decide(a: _Api, now: float, limit: int | None = None) -> None:
    assert a.obs is not None
    state = a.stored.state if a.stored is not None else ScalerState()
    a.decision, a.state = decide(a.policy, state, replace(a.obs, limit=limit), now)


def _apply_total_cap(apis: list[_Api], cap: int, now: float) -> None:
    """Trim scale-outs so the sum over all APIs stays within ``cap``, one replica per API in turn.

    Worked example, cap 20: A holds at 8, B wants 4 -> 10, C wants 2 -> 6. Held and current counts take 8 + 4
    + 2 = 14, leaving 6 to share: B and C get one each in turn until it runs out, B -> 7 and C -> 5.
    """
    used = sum(min(a.decision.desired, a.decision.previous) for a in apis if a.decision is not None)
    growing = [a for a in apis if a.decision is not None and a.decision.desired > a.decision.previous]
    wanted = sum(a.decision.desired - a.decision.previous for a in growing if a.decision is not None)
    if used + wanted <= cap:
        return
    grant = dict.fromkeys((a.live.api for a in growing), 0)
    left = max(0, cap - used)
    while left > 0:
        progressed = False
        for a in growing:
            assert a.decision is not None
            if left and grant[a.live.api] < a.decision.desired - a.decision.previous:
                grant[a.live.api] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    for a in growing:
        assert a.decision is not None
        _decide(a, now, limit=a.decision.previous + grant[a.live.api])


def _finish(a: _Api, store: ScalerStateStore, dry_run: bool, summary: TickSummary) -> None:
    """Apply (unless dry-run or nothing changes), then persist the state, then record the decision."""
    decision, state = a.decision, a.state
    assert decision is not None and state is not None
    apply = decision.action is not Action.HOLD and not dry_run
    if apply:
        a.platform.set_capacity(a.live.api, a.capacity.variant, decision.desired)
        summary.changed += 1
    store.save(a.live.api, state, a.stored.revision if a.stored is not None else None)
    record = DecisionRecord(
        api=a.live.api,
        variant=a.capacity.variant,
        at=summary.at,
        previous=decision.previous,
        desired=decision.desired,
        ready=a.capacity.ready,
        reason=decision.reason.value,
        action=decision.action.value,
        applied=apply,
        dry_run=dry_run,
        panicking=decision.panicking,
        at_max=decision.at_max,
        in_flight=None if decision.stable_in_flight is None else round(decision.stable_in_flight, 3),
        demand=None if decision.demand is None else round(decision.demand, 3),
        forecast=decision.forecast,
        period_seconds=decision.period_seconds,
    )
    summary.records.append(record)
    store.record(record)


def _guarded(summary: TickSummary, api: str, work: Callable[[], None]) -> None:
    """Run one API's step; an exception is reported for that API and never reaches the others."""
    try:
        work()
    except Exception as error:
        code = getattr(error, "code", type(error).__name__)
        summary.errors[api] = f"{code}: {error}"


__all__ = ["LiveApi", "TickSettings", "TickSummary", "tick"]
