"""The clairvoyant floor (``oracle``) and the always-at-peak ceiling (``static-peak``)."""

from __future__ import annotations

import math

import numpy as np

from bench.autoscaler.engine import SimConfig, View
from bench.autoscaler.workload import Workload


def needed_replicas(workload: Workload, cfg: SimConfig, horizon: int) -> np.ndarray:
    """Per second, the replicas that serve every request the moment it arrives (no queueing at all).

    Concurrency if nothing ever waits is +1 at each arrival and -1 at each completion; its maximum within
    each second, divided by the slots per replica, is what must be serving during that second.
    """
    times = np.concatenate([workload.arrival, workload.arrival + workload.service])
    deltas = np.concatenate([np.ones(len(workload.arrival)), -np.ones(len(workload.arrival))])
    order = np.lexsort((-deltas, times))  # at equal times count the arrival first: the safe side
    times, level = times[order], np.cumsum(deltas[order])
    seconds = np.minimum(times.astype(np.int64), horizon - 1)
    peak = np.zeros(horizon)
    np.maximum.at(peak, seconds, level)
    # A second with no event still holds the level left by the last event before it.
    carried = np.zeros(horizon)
    last = np.searchsorted(times, np.arange(horizon), side="left") - 1
    carried[last >= 0] = level[last[last >= 0]]
    need = np.ceil(np.maximum(peak, carried) / cfg.max_concurrency - 1e-9).astype(np.int64)
    return np.clip(need, cfg.min_replicas, cfg.max_replicas)


def oracle_schedule(need: np.ndarray, provisioning: int) -> np.ndarray:
    """Requested replicas per second of the cheapest schedule that always has ``need`` ready.

    Replica k (the k-th level of ``need``) serves during the seconds where need >= k; a gap shorter than the
    provisioning delay is cheaper to bridge than to release and re-request, and each start is requested
    ``provisioning`` seconds ahead. Levels are independent, so merging per level is optimal.
    """
    horizon = len(need)
    requested = np.zeros(horizon, dtype=np.int64)
    for k in range(1, int(need.max()) + 1):
        active = np.flatnonzero(need >= k)
        breaks = np.flatnonzero(np.diff(active) > 1)
        starts = np.concatenate([[active[0]], active[breaks + 1]])
        ends = np.concatenate([active[breaks], [active[-1]]]) + 1
        keep = starts[1:] - ends[:-1] >= provisioning  # release only across gaps longer than a restart
        starts = np.concatenate([[starts[0]], starts[1:][keep]])
        ends = np.concatenate([ends[:-1][keep], [ends[-1]]])
        for start, end in zip(starts, ends, strict=True):
            begin = 0 if start == 0 else max(0, start - provisioning)
            requested[begin:end] += 1
    return requested


class Oracle:
    """Knows every arrival: requests each replica exactly one provisioning delay before it is needed."""

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
