"""The load each 10-s datapoint stands for: in-flight, or arrivals x service time (Little's law) under overload.

In-flight (running + queued) is the right signal while replicas keep up: by Little's law it equals arrival rate x
time in the system, and time in the system is the service time. Under overload it is not: the queue grows, so
in-flight first overstates the demand (a backlog is not a rate) and then, once the queue is full and requests are
refused, stops growing at capacity + queue, so a scaler reading it cannot tell 2x from 20x. The runtime also
publishes, per 10-s period and under the same signal key, the requests that arrived (refused ones included) and
their mean time in the predictor (queueing excluded). Their product is the concurrency the arrivals would need if
nothing waited, whatever the queue does: the load of a saturated datapoint.

Worked example, 4 replicas x 1 slot, 0.5 s per request: 80 requests in a 10-s period are 8/s x 0.5 s = 4
concurrent, at capacity; 400 requests (40/s) are a demand of 20, however many of them queued or were refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from axon.autoscaler.policy import DATAPOINT_SECONDS

SERVICE_SMOOTHING = 0.3  # weight of a new period's service time in the running estimate (EWMA)


@dataclass(frozen=True)
class Load:
    """One datapoint: its in-flight and, when it was saturated, its arrivals x service time (plus backlog drain)."""

    at: float  # the 10-s period's start (epoch s)
    in_flight: float  # total in flight (running + queued), the unit of ``Policy.target_in_flight``
    saturated: bool = False  # in flight >= the slots that were serving then: requests were queueing
    rate: float | None = None  # saturated datapoints with request data: arrivals x service time
    demand: float | None = None  # ``rate`` plus the queued requests' work drained over the drain time

    @property
    def value(self) -> float:
        """The load to size for: in-flight, or the demand when the queue hides more than it shows."""
        return self.in_flight if self.demand is None else max(self.in_flight, self.demand)

    @property
    def need(self) -> float:
        """The concurrency the arrivals themselves need (no backlog): what the history keeps for forecasts, so a
        queue that built up once is not forecast to come back as a rate."""
        return self.in_flight if self.rate is None else self.rate


def smoothed_service(previous: float | None, request_points: Iterable[tuple[float, float, float]]) -> float | None:
    """The running service-time estimate after ``request_points`` (periods with no request started are skipped).

    >>> smoothed_service(None, [(0.0, 10.0, 1.0), (10.0, 10.0, 2.0)])
    1.3
    """
    estimate = previous
    for _, _, service in request_points:
        if service > 0:
            estimate = service if estimate is None else round(estimate + SERVICE_SMOOTHING * (service - estimate), 6)
    return estimate


def loads(
    points: Iterable[tuple[float, float]],
    request_points: Iterable[tuple[float, float, float]],
    *,
    slots_at: Callable[[float], float],
    service_estimate: float | None,
    drain_seconds: float,
) -> list[Load]:
    """The load of each in-flight datapoint.

    A datapoint at or above ``slots_at`` its time (ready replicas x slots: requests are queueing) with the same period's
    request count also gets a demand: ``requests / 10 s x service time``, plus the queued requests' work spread
    over ``drain_seconds``. Its service time is the period's own, or ``service_estimate`` when no request started
    in it. Without request data (an older runtime, a gap) in-flight stands alone, as before.

    Worked example, 4 slots, 1 s per request, drain over 60 s: 9 in flight (5 queued) and 400 arrivals in the
    period are a demand of 40 + 5 / 60 = 40.1, not 9.

    >>> [l.value for l in loads([(0.0, 2.0), (10.0, 9.0)], [(10.0, 400.0, 1.0)], slots_at=lambda at: 4,
    ...                         service_estimate=None, drain_seconds=60)]
    [2.0, 40.083333]
    """
    requests = {at: (count, service) for at, count, service in request_points}
    result = []
    for at, in_flight in points:
        count, service = requests.get(at, (None, 0.0))
        service = service if service > 0 else (service_estimate or 0.0)
        slots = slots_at(at)
        saturated = in_flight >= slots > 0
        if saturated and count is not None and service > 0:
            rate = count / DATAPOINT_SECONDS * service
            drain = (in_flight - slots) * service / drain_seconds
            result.append(Load(at, in_flight, True, round(rate, 6), round(rate + drain, 6)))
        else:
            result.append(Load(at, in_flight, saturated))
    return result


def with_backlog(
    measured: list[Load],
    backlog_points: Iterable[tuple[float, float, float]],
    *,
    period: float,
    service_estimate: float | None,
    drain_seconds: float,
) -> list[Load]:
    """An async API's loads: each datapoint plus the work waiting in the queue outside its replicas.

    SageMaker's backlog (or the ECS API's queue) counts the requests being processed too, so what waits is the
    backlog less the datapoint's in-flight; its work is spread over ``drain_seconds``, as a saturated datapoint's
    queue is (each waiting request counts one slot while no service time is known yet). A backlog minute without any
    in-flight datapoint (the API has no replica, or they publish nothing) stands alone: all of it waits.

    Worked example, 0.5 s per request, drain over 60 s: 2 in flight while the minute's backlog is 242 add
    240 x 0.5 / 60 = 2 slots, a load of 4; with no replica, a backlog of 3 is a load of 3 x 0.5 / 60 = 0.025,
    which still asks for one replica.

    >>> [(l.at, l.value) for l in with_backlog([Load(70.0, 2.0)], [(60.0, 242.0, 0.0), (120.0, 3.0, 1.0)],
    ...                                          period=60, service_estimate=0.5, drain_seconds=60)]
    [(70.0, 4.0), (120.0, 0.025)]
    """
    minutes = sorted(backlog_points)

    def waiting(at: float, in_flight: float) -> float:
        covering = [size for start, size, _ in minutes if start <= at < start + period]
        return max(0.0, (covering[-1] if covering else 0.0) - in_flight)

    def plus_waiting(load: Load) -> Load:
        queued = waiting(load.at, load.in_flight)
        if queued <= 0:
            return load
        if not service_estimate:  # a count, not a rate: it is read as queued in-flight (the 4x-ready panic cap)
            return replace(load, in_flight=load.in_flight + queued)
        work = queued * service_estimate / drain_seconds
        return replace(load, demand=round(max(load.in_flight, load.demand or 0.0) + work, 6))

    covered = {start for start, _, _ in minutes if any(start <= load.at < start + period for load in measured)}
    alone = [Load(start, 0.0) for start, _, _ in minutes if start not in covered]
    return [plus_waiting(load) for load in sorted([*measured, *alone], key=lambda load: load.at)]
