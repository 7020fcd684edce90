"""The clairvoyant zero-wait schedule (``oracle``), the cost floor for the configured SLO (:func:`cost_floor`, a bound,
not a policy) and the always-at-peak ceiling (``static-peak``)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from bench.autoscaler.engine import SimConfig, View
from bench.autoscaler.workload import Workload


def _per_second_need(
    begin: np.ndarray, end: np.ndarray, cfg: SimConfig, horizon: int, *, starts_first: bool
) -> np.ndarray:
    """Per second, ``ceil(max concurrency of the intervals [begin, end) within the second / slots)``, clipped to the
    replica bounds. ``starts_first`` counts a start before an end at equal times (an over-estimate: the safe side
    for a schedule); otherwise the intervals are half-open exactly (for a lower bound)."""
    times = np.concatenate([begin, end])
    deltas = np.concatenate([np.ones(len(begin)), -np.ones(len(end))])
    order = np.lexsort((-deltas if starts_first else deltas, times))
    times, level = times[order], np.cumsum(deltas[order])
    peak = np.zeros(horizon)
    if len(times):
        seconds = np.minimum(times.astype(np.int64), horizon - 1)
        np.maximum.at(peak, seconds, level)
    # A second with no event still holds the level left by the last event before it.
    carried = np.zeros(horizon)
    last = np.searchsorted(times, np.arange(horizon), side="left") - 1
    carried[last >= 0] = level[last[last >= 0]]
    need = np.ceil(np.maximum(peak, carried) / cfg.max_concurrency - 1e-9).astype(np.int64)
    return np.clip(need, cfg.min_replicas, cfg.max_replicas)


def needed_replicas(workload: Workload, cfg: SimConfig, horizon: int) -> np.ndarray:
    """Per second, the replicas that serve every request the moment it arrives (no queueing at all).

    Concurrency if nothing ever waits is +1 at each arrival and -1 at each completion; its maximum within
    each second, divided by the slots per replica, is what must be serving during that second.
    """
    return _per_second_need(workload.arrival, workload.arrival + workload.service, cfg, horizon, starts_first=True)


def must_serve_replicas(workload: Workload, cfg: SimConfig, horizon: int) -> np.ndarray:
    """Per second, the replicas that must be serving in ANY schedule that meets the SLO for every request.

    A request that meets the SLO starts by ``arrival + slo_seconds`` and runs ``service`` seconds, so whatever the
    schedule it is running throughout ``[arrival + slo_seconds, arrival + service)``; the concurrency of those
    intervals, per second, divided by the slots, is a floor on the replicas serving (ready or draining) then.
    """
    begin = workload.arrival + cfg.slo_seconds
    end = workload.arrival + workload.service
    longer = end > begin
    return _per_second_need(begin[longer], end[longer], cfg, horizon, starts_first=False)


def level_runs(need: np.ndarray, provisioning: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per replica level ``k`` of ``need``, the runs of seconds where need >= k as (k, starts, ends), a gap shorter
    than ``provisioning`` bridged (cheaper to hold than to release and re-request)."""
    for k in range(1, int(need.max()) + 1 if len(need) else 1):
        active = np.flatnonzero(need >= k)
        breaks = np.flatnonzero(np.diff(active) > 1)
        starts = np.concatenate([[active[0]], active[breaks + 1]])
        ends = np.concatenate([active[breaks], [active[-1]]]) + 1
        keep = starts[1:] - ends[:-1] >= provisioning  # release only across gaps longer than a restart
        yield k, np.concatenate([[starts[0]], starts[1:][keep]]), np.concatenate([ends[:-1][keep], [ends[-1]]])


def oracle_schedule(need: np.ndarray, provisioning: int) -> np.ndarray:
    """Requested replicas per second of the cheapest schedule that always has ``need`` ready.

    Replica k (the k-th level of ``need``) serves during the seconds where need >= k; a gap shorter than the
    provisioning delay is cheaper to bridge than to release and re-request, and each start is requested
    ``provisioning`` seconds ahead. Levels are independent, so merging per level is optimal.
    """
    requested = np.zeros(len(need), dtype=np.int64)
    for _, starts, ends in level_runs(need, provisioning):
        for start, end in zip(starts, ends, strict=True):
            begin = 0 if start == 0 else max(0, start - provisioning)
            requested[begin:end] += 1
    return requested


def cost_floor(workload: Workload, cfg: SimConfig) -> float:
    """A lower bound, in replica-minutes, on the cost of any schedule that meets the SLO for every request.

    The cheapest cover (:func:`oracle_schedule`) of :func:`must_serve_replicas`: each replica is billed from its
    request, one provisioning delay before it can serve, and at least ``min_replicas`` are always billed. It is a
    bound, not a run: no policy, the oracle included, may reach it, and none that meets the SLO for every request
    costs less in this simulator.
    """
    need = must_serve_replicas(workload, cfg, horizon_of(workload, cfg))
    return float(oracle_schedule(need, cfg.provisioning_seconds).sum()) / 60.0


class Oracle:
    """Knows every arrival: requests each replica exactly one provisioning delay before it is needed.

    What it bounds: it is the cheapest schedule in this simulator under which no request waits at all (per second
    exactly the replicas the zero-wait concurrency needs, each requested one provisioning delay ahead, gaps shorter
    than a restart bridged). It meets any SLO for every request, but with a positive ``slo_seconds`` a schedule
    that lets requests wait up to the SLO may meet it for every request at less cost: the bound for that is
    :func:`cost_floor`.
    """

    name = "oracle"
    tick_seconds = 1

    def __init__(self, workload: Workload, cfg: SimConfig, horizon: int):
        self.schedule = oracle_schedule(needed_replicas(workload, cfg, horizon), cfg.provisioning_seconds)

    @property
    def initial(self) -> int:
        """Replicas ready at time 0 (the same start every policy gets)."""
        return int(self.schedule[0])

    def step(self, view: View) -> int:
        return int(self.schedule[min(view.now, len(self.schedule) - 1)])


class StaticPeak:
    """The peak need, all the time: no scaling, the cost a fixed fleet pays for the same SLO."""

    name = "static-peak"
    tick_seconds = 60

    def __init__(self, workload: Workload, cfg: SimConfig, horizon: int):
        self.replicas = int(needed_replicas(workload, cfg, horizon).max())

    def step(self, view: View) -> int:
        return self.replicas


def horizon_of(workload: Workload, cfg: SimConfig) -> int:
    return (math.ceil(workload.duration) if len(workload.arrival) else 0) + cfg.tail_seconds
