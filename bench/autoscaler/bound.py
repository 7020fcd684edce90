"""``delayed-oracle``: the best a reactive policy can do, a bound on the SLO of any scaler that reacts to what it sees.

It knows the true load (every arrival and service time, like :class:`~bench.autoscaler.policies.oracle.Oracle`) and
sizes exactly to it: per second the replicas under which no request waits (the oracle's
:func:`~bench.autoscaler.policies.oracle.needed_replicas`, no target-utilization headroom). But it acts with a
reactive scaler's delays:

- **Detection.** Load during second ``t`` becomes actionable at ``t + detection_delay(cfg)``:
  ``metric_lag_seconds + PERIOD + DECISION_TICK`` (40 s with the defaults). A second's load is in the 10-s
  datapoint of its period, which closes 1-10 s later and is published ``metric_lag_seconds`` after that; the first
  datapoint that holds it only partly shows a rise (it is a mean), the next one wholly, ``lag + 10..20`` s after
  it; a scaler then acts at its next tick. The bound takes ``lag + 10`` (one period) plus 10 s (a 10-s tick, the
  fastest of the datapoint-reading baselines). In practice they are slower: AWS high resolution needs 3 breaching
  datapoints (>= 50 s), cortex a 60-s window of them, axon's tick runs once a minute (30-90 s). A scaler that
  reacts to the first, partial datapoint can act up to 10-19 s sooner on a sharp rise, so the bound is not a proof;
  KPA (1-s samples, no publication lag, 2-s tick) sees sooner still and is not bounded by it.
- **Provisioning.** A replica it requests serves ``provisioning_seconds`` later (or, from a warm pool, the
  simulator's ``warm_provisioning_seconds``), as any policy's; release is instant, as a scale-in is.

Per replica level ``k`` (the seconds where the need is at least ``k``), each run of need is requested when it
becomes actionable and released when its end does; a gap shorter than ``provisioning_seconds`` is bridged, as
:func:`~bench.autoscaler.policies.oracle.oracle_schedule` does (holding is cheaper than a restart, and a reactive
policy with burst memory can hold too). The levels the oracle's initial fleet covers are held from ``t = 0``
(every policy starts with that fleet).

**Backlog.** Load that arrives before its replicas serve queues, and in a FIFO the requests behind that backlog
wait too, whatever the later capacity: meeting the SLO after a late scale-out needs the backlog gone at once. On
top of the schedule it therefore requests one replica per ``max_concurrency`` requests it expects queued when
those replicas serve: the queue as seen with the same detection delay (at the end of second
``now - 1 - detection``, the simulator's truth), grown at its rate over the 10 s before that until
``now + provisioning_seconds``. That is the most that can serve the backlog the moment the replicas are up; a
reactive scaler sees the queue in in-flight too, and sizing to all of it is its best case. A queue that empties
meanwhile leaves replicas that are cancelled while they start (their billing stops). With no queue (the oracle never
queues) this term is zero.

What it bounds: the SLO a policy can reach by reacting to the load it has seen, sized exactly. It is not a bound
on policies that keep standing headroom (``static-peak``; every baseline's 70 % target leaves 30 %, which absorbs
rises smaller than that), hold capacity across gaps longer than a restart (cortex on on-off, at several times the
oracle's cost), or predict load before it is seen (recurring-burst memory, pre-provisioning): those may beat it,
and that is the point of predicting. With zero detection delay and
zero provisioning it is the oracle (a test checks it).
"""

from __future__ import annotations

import math

import numpy as np

from bench.autoscaler.engine import PERIOD, SimConfig, View
from bench.autoscaler.policies.oracle import level_runs, needed_replicas
from bench.autoscaler.workload import Workload

DECISION_TICK = 10  # seconds: the tick of the fastest datapoint-reading baselines (cortex, AWS high resolution)
NAME = "delayed-oracle"


def detection_delay(cfg: SimConfig) -> int:
    """Seconds from a second's load to the first decision that can act on it (see the module docstring)."""
    return cfg.metric_lag_seconds + PERIOD + DECISION_TICK


def initial_fleet(need: np.ndarray, provisioning: int) -> int:
    """The oracle's fleet at ``t = 0``: every level it needs within one provisioning delay (already requested)."""
    return int(need[: provisioning + 1].max()) if len(need) else 0


def delayed_schedule(need: np.ndarray, provisioning: int, delay: int, initial: int) -> np.ndarray:
    """Requested replicas per second: each level's runs of ``need``, gaps shorter than ``provisioning`` bridged,
    requested and released ``delay`` seconds after the load does; levels up to ``initial`` are held from 0."""
    horizon = len(need)
    requested = np.zeros(horizon, dtype=np.int64)
    for k, starts, ends in level_runs(need, provisioning):
        for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
            begin = 0 if index == 0 and k <= initial else min(horizon, start + delay)
            requested[begin : min(horizon, end + delay)] += 1
    return requested


class DelayedOracle:
    """The exact need plus the backlog, acted on with a reactive scaler's detection delay and the simulator's
    provisioning delay."""

    name = NAME
    tick_seconds = 1

    def __init__(self, workload: Workload, cfg: SimConfig, horizon: int, detection_seconds: int | None = None):
        self.detection_seconds = detection_delay(cfg) if detection_seconds is None else detection_seconds
        self.slots = cfg.max_concurrency
        need = needed_replicas(workload, cfg, horizon)
        self.initial = initial_fleet(need, cfg.provisioning_seconds)
        self.schedule = delayed_schedule(need, cfg.provisioning_seconds, self.detection_seconds, self.initial)

    def backlog(self, view: View) -> int:
        """Replicas that start at once every request the queue will hold when they serve: the queue at the end of
        second ``now - 1 - detection``, growing at its rate over the last 10 s seen until ``now + provisioning``."""
        seen = view.now - 1 - self.detection_seconds
        if seen < 0 or seen >= len(view.queued):
            return 0
        queued = view.queued[seen]
        growth = max(0.0, (queued - view.queued[max(0, seen - PERIOD)]) / PERIOD)
        projected = queued + growth * (view.now + view.cfg.provisioning_seconds - seen)
        return math.ceil(projected / self.slots)

    def step(self, view: View) -> int:
        return int(self.schedule[min(view.now, len(self.schedule) - 1)]) + self.backlog(view)
