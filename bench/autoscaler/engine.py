"""Discrete-time simulation at 1-second resolution of one endpoint under one scaling policy.

Model (the same for every policy):

- Replicas have ``max_concurrency`` slots each; requests beyond the free slots wait in one FIFO (a perfect
  least-outstanding-requests balancer), up to ``max_queue_length`` per ready replica, then are rejected.
- A replica requested at ``t`` serves from ``t + provisioning_seconds`` and is billed from ``t`` (provisioning
  included, as on SageMaker and ECS). Scale-in cancels starting replicas first (billing stops), then drains ready
  ones: nothing new starts on them, their running requests finish, and each bills until its last request has
  finished (every second it is up, started or not, is billed). The pool is one FIFO over all slots, so the
  requests still running beyond the remaining ready slots are the drained replicas' ones: ``ceil(overflow /
  max_concurrency)`` drained replicas are billed each second (at the second's start), never more than were drained.
- Warm capacity (``warm_pool`` > 0; an ECS Auto Scaling group warm pool: stopped instances, image pre-pulled). A
  scale-out takes warm instances first, which serve ``warm_provisioning_seconds`` after the request (a start and a
  task placement, not a boot and an image pull), the rest cold. A used warm slot is refilled in the background: a new
  instance is launched, pulls the image and is stopped, warm again ``provisioning_seconds`` later, billed in full
  meanwhile (it runs). Scale-in returns instances to the pool while it is below its size (``ReuseOnScaleIn``): a
  replica started from the pool and cancelled, or a drained one (counted warm from the scale-in, its drain billed as
  well), takes the place of the refill that would finish last, which is cancelled. Warm instances bill
  ``warm_cost_ratio`` of a running one per second (:data:`WARM_COST_RATIO`), counted in ``replica_seconds``.
- In-flight (running + queued) is sampled every second; each 10-second period's mean is a datapoint,
  visible to policies ``metric_lag_seconds`` after the period ends (CloudWatch-like publication lag).
- Each 10-s period also yields what the serving runtime publishes beside in-flight: the requests that arrived
  (rejected ones included) and the mean service time of the requests that started in it (time in the predictor,
  queueing excluded), visible with the same lag.
- A request meets the SLO when its queueing delay is at most ``slo_seconds`` (a rejection never does).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bench.autoscaler.workload import Workload

PERIOD = 10  # seconds per datapoint

# What a stopped warm-pool instance costs per second relative to a running one. A stopped EC2 instance bills only its
# EBS volumes: a g5.xlarge (1 A10G) at $1.006/h on demand (us-east-1) with 200 GB of gp3 (the ECS GPU AMI's root plus
# room for the serving image and the model) at $0.08/GB-month pays 200 x 0.08 / 730 = $0.0219/h stopped: 2.2 % of
# running (1.1 % with 100 GB; less on larger GPU instances). Rounded to 2 %.
WARM_COST_RATIO = 0.02


@dataclass(frozen=True)
class SimConfig:
    max_concurrency: int = 1  # slots per replica
    target_utilization: float = 0.7  # target in-flight per slot every policy aims for (Knative's 70%)
    provisioning_seconds: int = 240  # request -> serving (a GPU instance)
    metric_lag_seconds: int = 20  # end of a 10-s period -> datapoint visible
    slo_seconds: float = 1.0  # queueing delay allowed
    max_queue_length: int = 100  # per ready replica (Cortex's default), then 503
    min_replicas: int = 1
    max_replicas: int = 100
    busy_while_provisioning: bool = False  # SageMaker-like: no capacity change while instances start
    tail_seconds: int = 600  # simulated after the last arrival
    warm_pool: int = 0  # instances kept warm (stopped, image pre-pulled); 0: every scale-out is cold
    warm_provisioning_seconds: int = 60  # request -> serving when a warm instance is used
    warm_cost_ratio: float = WARM_COST_RATIO  # a warm instance's cost per second relative to a running one

    @property
    def target_in_flight(self) -> float:
        return self.target_utilization * self.max_concurrency


class View:
    """What a policy may see at ``now``: counts, published datapoints and (for native baselines) raw samples."""

    def __init__(
        self,
        cfg: SimConfig,
        samples: list[int],
        datapoints: list[float],
        arrivals_per_minute: np.ndarray,
        requests: list[tuple[int, float]] | None = None,
        queued: list[int] | None = None,
    ):
        self.cfg = cfg
        self.samples = samples
        # The queue's length at the end of each second, no lag: the simulator's truth, for bounds, not for policies.
        self.queued = queued if queued is not None else []
        self._datapoints = datapoints
        self._requests = requests if requests is not None else []
        self.arrivals_per_minute = arrivals_per_minute
        self.now = 0
        self.ready = 0
        self.requested = 0
        self.warm = 0  # warm-pool instances available now
        self.can_change = True

    def published(self) -> int:
        """How many 10-s datapoints are visible now (datapoint j covers [10j, 10j + 10))."""
        visible = (self.now - self.cfg.metric_lag_seconds) // PERIOD
        return max(0, min(len(self._datapoints), visible))

    def datapoints(self, since: float) -> list[tuple[float, float]]:
        """Visible datapoints whose period starts after ``since``, as (period start, mean total in-flight)."""
        count = self.published()
        first = max(0, math.floor(since / PERIOD) + 1)
        return [(float(j * PERIOD), self._datapoints[j]) for j in range(first, count)]

    def request_points(self, since: float) -> list[tuple[float, float, float]]:
        """Visible periods after ``since`` as (period start, requests arrived, mean service seconds; 0 with none
        started): the runtime's ``Requests`` and ``ServiceTime`` datapoints, published with in-flight."""
        count = min(self.published(), len(self._requests))
        first = max(0, math.floor(since / PERIOD) + 1)
        return [(float(j * PERIOD), float(self._requests[j][0]), self._requests[j][1]) for j in range(first, count)]


class Controller(Protocol):
    """A scaling policy under test: called every ``tick_seconds`` with the view, returns the count to request."""

    name: str
    tick_seconds: int

    def step(self, view: View) -> int: ...


@dataclass
class RunResult:
    policy: str
    requests: int
    slo_met: int
    rejected: int
    replica_seconds: float  # billed, in running-replica seconds (warm instances at warm_cost_ratio)
    scale_actions: int
    warm_seconds: int = 0  # instance-seconds spent warm in the pool (billed at warm_cost_ratio, in replica_seconds)
    requested_series: list[int] = field(default_factory=list)  # per 10 s, for plots
    ready_series: list[int] = field(default_factory=list)
    in_flight_series: list[float] = field(default_factory=list)

    @property
    def slo_met_fraction(self) -> float:
        return self.slo_met / self.requests if self.requests else 1.0

    @property
    def cost_replica_minutes(self) -> float:
        return self.replica_seconds / 60.0


class Fleet:
    """The replicas and their billing: ready, starting (from the warm pool or cold), draining, and the warm pool."""

    def __init__(self, cfg: SimConfig, ready: int):
        self.cfg = cfg
        self.ready = ready
        self.cold = deque[int]()  # when each cold start serves (nondecreasing)
        self.from_pool = deque[int]()  # when each warm start serves (nondecreasing)
        self.draining = 0  # drained replicas still finishing their requests (billed)
        self.warm = cfg.warm_pool  # stopped, image pulled
        self.refills = deque[int]()  # when each used warm slot is warm again (nondecreasing)

    @property
    def starting(self) -> int:
        return len(self.cold) + len(self.from_pool)

    @property
    def requested(self) -> int:
        return self.ready + self.starting

    def advance(self, t: int) -> bool:
        """Starts due by ``t`` serve, refills due by ``t`` are warm; whether any replica became ready."""
        before = self.ready
        for starts in (self.cold, self.from_pool):
            while starts and starts[0] <= t:
                starts.popleft()
                self.ready += 1
        while self.refills and self.refills[0] <= t:
            self.refills.popleft()
            self.warm += 1
        return self.ready > before

    def scale_out(self, t: int, count: int) -> None:
        """Warm instances first, the rest cold; each warm one used is refilled one cold provisioning later."""
        warm = min(count, self.warm)
        self.warm -= warm
        self.from_pool.extend([t + self.cfg.warm_provisioning_seconds] * warm)
        self.refills.extend([t + self.cfg.provisioning_seconds] * warm)
        self.cold.extend([t + self.cfg.provisioning_seconds] * (count - warm))

    def scale_in(self, count: int) -> None:
        """Cancel starting replicas first (the one that would serve last first), then drain ready ones."""
        while count and (self.cold or self.from_pool):
            if self.from_pool and (not self.cold or self.from_pool[-1] > self.cold[-1]):
                self.from_pool.pop()
                self._reuse()
            else:
                self.cold.pop()  # a cold launch is terminated
            count -= 1
        self.ready -= count
        self.draining += count
        for _ in range(count):
            self._reuse()

    def _reuse(self) -> None:
        """ReuseOnScaleIn: with the pool below its size (a refill under way), the instance goes back to it."""
        if self.refills:
            self.refills.pop()
            self.warm += 1

    def billed(self) -> float:
        """This second's bill in running-replica seconds: starting, ready, draining and refilling instances run."""
        running = self.ready + self.starting + self.draining + len(self.refills)
        return running + self.cfg.warm_cost_ratio * self.warm if self.warm else float(running)


def simulate(workload: Workload, controller: Controller, cfg: SimConfig, init_replicas: int) -> RunResult:
    """Replay ``workload`` against ``controller``; every policy starts with ``init_replicas`` ready."""
    arrival = workload.arrival.tolist()
    service = workload.service.tolist()
    n = len(arrival)
    horizon = (math.ceil(arrival[-1]) if n else 0) + cfg.tail_seconds
    minutes = np.bincount((workload.arrival // 60).astype(np.int64), minlength=horizon // 60 + 1)
    samples: list[int] = []
    datapoints: list[float] = []
    requests: list[tuple[int, float]] = []  # per period: (arrivals, mean service of the requests started)
    queued: list[int] = []
    view = View(cfg, samples, datapoints, minutes, requests, queued)
    slots, slo, qlen_per = cfg.max_concurrency, cfg.slo_seconds, cfg.max_queue_length
    fleet = Fleet(cfg, init_replicas)
    running: list[float] = []  # completion times (heap)
    queue = deque[int]()
    i = ok = rejected = actions = warm_seconds = 0
    replica_seconds = 0.0
    period_arrivals, period_started, period_service = 0, 0, 0.0
    next_tick = controller.tick_seconds
    result = RunResult(controller.name, n, 0, 0, 0, 0)
    for t in range(horizon):
        fleet.advance(t)
        capacity = fleet.ready * slots
        met, started, seconds = _start_queued(t, queue, running, capacity, arrival, service, slo)
        ok, period_started, period_service = ok + met, period_started + started, period_service + seconds
        if t >= next_tick:
            next_tick += controller.tick_seconds
            view.now, view.ready, view.requested, view.warm = t, fleet.ready, fleet.requested, fleet.warm
            view.can_change = not (cfg.busy_while_provisioning and fleet.starting)
            desired = max(cfg.min_replicas, min(cfg.max_replicas, controller.step(view)))
            if view.can_change and desired != view.requested:
                actions += 1
                if desired > view.requested:
                    fleet.scale_out(t, desired - view.requested)
                else:
                    fleet.scale_in(view.requested - desired)
                fleet.advance(t)  # a 0-s provisioning serves in the second it is requested
                capacity = fleet.ready * slots
                met, started, seconds = _start_queued(t, queue, running, capacity, arrival, service, slo)
                ok, period_started, period_service = ok + met, period_started + started, period_service + seconds
        # A drained replica stops (and stops billing) once the requests beyond the ready slots have finished.
        fleet.draining = min(fleet.draining, -(-max(0, len(running) - capacity) // slots))
        end = t + 1
        while True:
            next_arrival = arrival[i] if i < n else math.inf
            next_done = running[0] if running else math.inf
            if next_arrival >= end and next_done >= end:
                break
            if next_done <= next_arrival:
                heapq.heappop(running)
                if queue and len(running) < capacity:
                    j = queue.popleft()
                    ok += next_done - arrival[j] <= slo
                    heapq.heappush(running, next_done + service[j])
                    period_started, period_service = period_started + 1, period_service + service[j]
            else:
                i += 1
                period_arrivals += 1
                if len(running) < capacity:
                    ok += 1
                    heapq.heappush(running, next_arrival + service[i - 1])
                    period_started, period_service = period_started + 1, period_service + service[i - 1]
                elif len(queue) < qlen_per * max(fleet.ready, 1):
                    queue.append(i - 1)
                else:
                    rejected += 1
        samples.append(len(running) + len(queue))
        queued.append(len(queue))
        replica_seconds += fleet.billed()
        warm_seconds += fleet.warm
        if end % PERIOD == 0:
            mean = sum(samples[-PERIOD:]) / PERIOD
            datapoints.append(mean)
            requests.append((period_arrivals, period_service / period_started if period_started else 0.0))
            period_arrivals, period_started, period_service = 0, 0, 0.0
            result.requested_series.append(fleet.requested)
            result.ready_series.append(fleet.ready)
            result.in_flight_series.append(mean)
    result.slo_met, result.rejected = int(ok), rejected
    result.replica_seconds, result.scale_actions, result.warm_seconds = replica_seconds, actions, warm_seconds
    return result


def _start_queued(
    t: int,
    queue: deque[int],
    running: list[float],
    capacity: int,
    arrival: list[float],
    service: list[float],
    slo: float,
) -> tuple[int, int, float]:
    """Start queued requests on free slots at second ``t``: (met the SLO, started, their service seconds)."""
    met = started = 0
    seconds = 0.0
    while queue and len(running) < capacity:
        j = queue.popleft()
        met += t - arrival[j] <= slo
        heapq.heappush(running, t + service[j])
        started, seconds = started + 1, seconds + service[j]
    return met, started, seconds
