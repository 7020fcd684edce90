"""Per-process serving figures: status counters, a latency histogram, the demand meter and the in-flight window.

The in-flight signal is sampled once a second and averaged over aligned 10-second windows
(``axon.names.IN_FLIGHT_PERIOD_SECONDS``); arrivals and service time (``ServiceMeter``) are counted per window
too. See ``emf.py`` for how windows are published.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

from axon.names import IN_FLIGHT_PERIOD_SECONDS

# Seconds; Prometheus-style cumulative buckets, dense below 100 ms where a model server lives.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Stats:
    """Counters since the process started; the HTTP layer calls ``observe`` once per response, and each closed
    window adds its arrivals and service time (``InFlightWindow.close``), so ``/metrics`` carries them as counters
    (the local stack's publisher reads them from there: ``axon_local/dataplane/publisher.py``)."""

    def __init__(self) -> None:
        self.by_status: dict[int, int] = {}
        self.bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.count = 0
        self.arrivals = 0
        self.served = 0
        self.service_seconds = 0.0

    def observe(self, status: int, seconds: float) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.bucket_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.count += 1

    def errors(self, family: int) -> int:
        """Responses whose status is in ``family`` (4 -> 4xx, 5 -> 5xx)."""
        return sum(count for status, count in self.by_status.items() if status // 100 == family)


@dataclass(frozen=True, slots=True)
class Service:
    """Arrivals and predictor time of one process over one window (``ServiceMeter.take``).

    ``served`` requests left the predictor in the window; each spent its call's run time there (a batch's run
    time for every request of the batch), so ``total`` is the sum over requests and ``total / served`` the mean
    service time, queueing excluded. ``arrivals`` counts requests that asked for the predictor, the ones refused
    because the queue was full included: under overload they are the demand that in-flight cannot show.
    """

    arrivals: int = 0
    served: int = 0
    total: float = 0.0  # seconds
    minimum: float = 0.0  # seconds; 0.0 when nothing was served
    maximum: float = 0.0


class ServiceMeter:
    """Counts arrivals and times predictor calls for the scheduler; read and reset once per window.

    Event-loop only (the scheduler and the sampler both run there), so it needs no lock. ``clock`` is
    injectable so tests drive time by hand.
    """

    __slots__ = ("_arrivals", "_max", "_min", "_served", "_total", "clock")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._arrivals = self._served = 0
        self._total = self._max = 0.0
        self._min = float("inf")

    def arrived(self) -> None:
        self._arrivals += 1

    def served(self, requests: int, seconds: float) -> None:
        """One predictor call of ``requests`` requests (a batch) ran ``seconds``: each request's service time."""
        self._served += requests
        self._total += requests * seconds
        self._min = min(self._min, seconds)
        self._max = max(self._max, seconds)

    def take(self) -> Service:
        """What was counted since the last ``take``, then start over."""
        served = self._served
        service = Service(self._arrivals, served, self._total, self._min if served else 0.0, self._max)
        self._arrivals = self._served = 0
        self._total = self._max = 0.0
        self._min = float("inf")
        return service


@dataclass(frozen=True, slots=True)
class Window:
    """One closed window: ``start`` is aligned to the period, so every process reports the same instant."""

    start: float
    in_flight: float  # mean of the per-second samples
    samples: int
    requests: int  # responses (every status), for the EMF dashboards
    errors_4xx: int
    errors_5xx: int
    latency_ms: float | None  # mean over the window's requests; None when there were none
    service: Service = Service()  # arrivals and predictor time: the autoscaler's demand signal


@dataclass(frozen=True, slots=True)
class _Totals:
    requests: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency_sum: float = 0.0

    @classmethod
    def of(cls, stats: Stats) -> _Totals:
        return cls(stats.count, stats.errors(4), stats.errors(5), stats.latency_sum)


class InFlightWindow:
    """Collects per-second in-flight samples; closing a window yields its averages and counter deltas.

    Pure over ``now`` (seconds since the epoch) so it is tested with a hand-driven clock.
    """

    def __init__(self, period: float = IN_FLIGHT_PERIOD_SECONDS) -> None:
        self.period = period
        self._start: float | None = None
        self._samples: list[float] = []
        self._base = _Totals()
        self.last: Window | None = None

    def _align(self, now: float) -> float:
        return now - now % self.period

    def sample(self, now: float, in_flight: float, stats: Stats, meter: ServiceMeter | None = None) -> Window | None:
        """Add a sample; returns the previous window when ``now`` has moved into a new one."""
        start = self._align(now)
        closed = self.close(stats, meter) if self._start is not None and start != self._start else None
        if self._start is None:
            self._start = start
        self._samples.append(in_flight)
        return closed

    def close(self, stats: Stats, meter: ServiceMeter | None = None) -> Window | None:
        """Close the current window (also at shutdown, so the last partial window is not lost)."""
        if self._start is None or not self._samples:
            return None
        totals = _Totals.of(stats)
        requests = totals.requests - self._base.requests
        latency = totals.latency_sum - self._base.latency_sum
        window = Window(
            start=self._start,
            in_flight=sum(self._samples) / len(self._samples),
            samples=len(self._samples),
            requests=requests,
            errors_4xx=totals.errors_4xx - self._base.errors_4xx,
            errors_5xx=totals.errors_5xx - self._base.errors_5xx,
            latency_ms=latency / requests * 1000 if requests else None,
            service=meter.take() if meter is not None else Service(),
        )
        stats.arrivals += window.service.arrivals
        stats.served += window.service.served
        stats.service_seconds += window.service.total
        self._start, self._samples, self._base, self.last = None, [], totals, window
        return window


def render_prometheus(stats: Stats, in_flight: int, last: Window | None, labels: dict[str, str]) -> bytes:
    """Prometheus text exposition (version 0.0.4) of this process's figures."""
    base = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))

    def series(name: str, value: float, extra: str = "", *, exact: bool = False) -> str:
        inner = ",".join(part for part in (base, extra) if part)
        return f"{name}{{{inner}}} {value!r}" if exact else f"{name}{{{inner}}} {value:g}"

    lines = [
        "# HELP axon_in_flight Requests queued or in the predictor in this process, now.",
        "# TYPE axon_in_flight gauge",
        series("axon_in_flight", in_flight),
        "# HELP axon_in_flight_avg Mean in-flight over the last closed 10-second window (as published to CloudWatch).",
        "# TYPE axon_in_flight_avg gauge",
        series("axon_in_flight_avg", last.in_flight if last else 0),
        "# HELP axon_requests_total Responses by HTTP status.",
        "# TYPE axon_requests_total counter",
        *(series("axon_requests_total", count, f'code="{code}"') for code, count in sorted(stats.by_status.items())),
        "# HELP axon_arrivals_total Requests that asked for the predictor, refused ones (queue full) included.",
        "# TYPE axon_arrivals_total counter",
        series("axon_arrivals_total", stats.arrivals),
        "# HELP axon_served_total Requests the predictor finished (the count behind axon_service_seconds_total).",
        "# TYPE axon_served_total counter",
        series("axon_served_total", stats.served),
        "# HELP axon_service_seconds_total Seconds requests spent in the predictor, queueing excluded.",
        "# TYPE axon_service_seconds_total counter",
        series("axon_service_seconds_total", stats.service_seconds, exact=True),  # deltas need every digit
        "# HELP axon_request_duration_seconds Time from request to response, in seconds.",
        "# TYPE axon_request_duration_seconds histogram",
    ]
    cumulative = 0
    for bound, count in zip((*LATENCY_BUCKETS, float("inf")), stats.bucket_counts, strict=True):
        cumulative += count
        le = "+Inf" if bound == float("inf") else f"{bound:g}"
        lines.append(series("axon_request_duration_seconds_bucket", cumulative, f'le="{le}"'))
    lines.append(series("axon_request_duration_seconds_sum", stats.latency_sum))
    lines.append(series("axon_request_duration_seconds_count", stats.count))
    return ("\n".join(lines) + "\n").encode()
