"""The autoscaler's signal per variant, in its API's namespace ``Axon/Api/<api>``, to the local CloudWatch every
10 s, so the real autoscaler scales local endpoints as it scales AWS ones.

``InFlight`` is the router's view: requests sent to a variant's replicas and not yet answered, sampled every second
and published as statistic values (average and peak over the 10-second period). ``Arrivals`` and ``ServiceTime``
(the demand signal, ``axon_serving.emf``) are the replicas' own measurements, which the router cannot see (time
inside the predictor excludes the replica's queue): each period the publisher reads every routed replica's
``/metrics`` counters (``axon_arrivals_total``, ``axon_served_total``, ``axon_service_seconds_total``) and sends
their increase, summed over the variant's replicas. ``ServiceTime`` is a statistic set, as on AWS, so its
``Average`` is the variant's seconds per request; its ``Minimum``/``Maximum`` are the replicas' mean per request
(counters carry no per-request extremes; the autoscaler reads only ``Average``). A replica's counters move when its
10-s window closes, so a period holds one window's worth, now and then none or two. A variant none of whose
replicas answered gets no demand datum (absent, never zero). Every datum has 10-second storage resolution and the
dimensions the autoscaler reads (``names.in_flight_dimensions``: ``Api``, ``Variant`` and the API's signal key,
which the router has from the replicas' environment). The replicas themselves run with ``AXON_PUT_METRICS=0``.
The same period also sends what SageMaker publishes for async endpoints, from the local queue
(``async_queue.AsyncInvocations.backlogs``): the backlog metrics an async API is scaled on, and from zero.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from axon import names
from axon_local.dataplane.fleet import api_of
from axon_local.dataplane.router import Replica, Router

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemandCounters:
    """A replica's demand counters since it started (its ``/metrics``)."""

    arrivals: float
    served: float
    service_seconds: float

    def since(self, before: DemandCounters | None) -> DemandCounters:
        """The increase over ``before``; all of it when there is none or the counters went back (a restart)."""
        if before is None or any(now < then for now, then in zip(self._values(), before._values(), strict=True)):
            return self
        return DemandCounters(
            self.arrivals - before.arrivals, self.served - before.served, self.service_seconds - before.service_seconds
        )

    def _values(self) -> tuple[float, float, float]:
        return self.arrivals, self.served, self.service_seconds


_COUNTERS = ("axon_arrivals_total", "axon_served_total", "axon_service_seconds_total")


def parse_demand(text: str) -> DemandCounters | None:
    """The three counters from a Prometheus exposition (``axon_serving.metrics.render_prometheus``); ``None`` when
    one is missing (a runtime from before the demand signal)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name in _COUNTERS:
            found[name] = float(rest.rpartition("}")[2])
    if len(found) < len(_COUNTERS):
        return None
    return DemandCounters(*(found[name] for name in _COUNTERS))


def scrape_demand(replica: Replica, timeout: float = 1.0) -> DemandCounters | None:
    """GET the replica's ``/metrics``; ``None`` when it does not answer (starting, stopping, failed)."""
    connection = http.client.HTTPConnection("127.0.0.1", replica.process.port, timeout=timeout)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read().decode()
        return parse_demand(body) if response.status == 200 else None
    except OSError:
        return None
    finally:
        connection.close()


class InFlightPublisher:
    def __init__(
        self,
        router: Router,
        cloudwatch: Any,
        *,
        sample_seconds: float = 1.0,
        period_seconds: float = float(names.IN_FLIGHT_PERIOD_SECONDS),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_demand: Callable[[Replica], DemandCounters | None] = scrape_demand,
        backlogs: Callable[[], Mapping[str, tuple[int, int]]] | None = None,
    ) -> None:
        self._router = router
        self._cloudwatch = cloudwatch
        self._sample = sample_seconds
        self._period = period_seconds
        self._now = now
        self._read_demand = read_demand
        self._backlogs = backlogs
        self._seen: dict[Replica, DemandCounters] = {}  # each replica's counters at the last publish
        self._samples: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Record the in-flight count of every routed variant (zero when idle: scale-in needs the zeros)."""
        counts = self._router.stats.in_flight()
        for key in self._router.routed_variants():
            self._samples[key].append(max(0, counts.get(key, 0)))

    def publish(self) -> None:
        """Send one datum per variant sampled since the last call, then start a new period.

        Each API's data goes to its own namespace (``Axon/Api/<api>``), as its replicas publish it on AWS.
        """
        samples, self._samples = self._samples, defaultdict(list)
        by_api: dict[str, list[dict[str, Any]]] = defaultdict(list)
        seen: dict[Replica, DemandCounters] = {}
        for (endpoint, variant), values in sorted(samples.items()):
            if not values:
                continue
            api = api_of(endpoint)
            common = {
                "Dimensions": names.in_flight_dimensions(api, variant, self._router.signal_key(endpoint)),
                "Timestamp": self._now(),
                "StorageResolution": 1,
            }
            statistics = _statistics([float(v) for v in values])
            by_api[api].append(
                {"MetricName": names.IN_FLIGHT_METRIC, "StatisticValues": statistics, "Unit": "Count", **common}
            )
            by_api[api].extend(self._demand(endpoint, variant, seen, common))
        self._seen = seen  # replicas gone since are forgotten
        for api, data in by_api.items():
            self._put(names.api_metric_namespace(api), data)
        if self._backlogs is not None:
            self._put(names.ASYNC_BACKLOG_NAMESPACE, backlog_data(self._backlogs(), self._now()))

    def _put(self, namespace: str, data: list[dict[str, Any]]) -> None:
        for start in range(0, len(data), 1000):  # PutMetricData takes at most 1000 datums per call
            self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 1000])

    def _demand(
        self, endpoint: str, variant: str, seen: dict[Replica, DemandCounters], common: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """``Arrivals`` and ``ServiceTime`` of one variant: its replicas' counter increases since the last publish."""
        increases: list[DemandCounters] = []
        for replica in self._router.routed_replicas(endpoint, variant):
            counters = self._read_demand(replica)
            if counters is None:
                continue
            seen[replica] = counters
            increases.append(counters.since(self._seen.get(replica)))
        if not increases:
            return []
        data: list[dict[str, Any]] = [
            {
                "MetricName": names.ARRIVALS_METRIC,
                "Value": sum(i.arrivals for i in increases),
                "Unit": "Count",
                **common,
            }
        ]
        means = [i.service_seconds / i.served for i in increases if i.served > 0]
        if means:
            served = sum(i.served for i in increases)
            statistics = {
                "SampleCount": served,
                "Sum": sum(i.service_seconds for i in increases),
                "Minimum": min(means),
                "Maximum": max(means),
            }
            data.append(
                {"MetricName": names.SERVICE_TIME_METRIC, "StatisticValues": statistics, "Unit": "Seconds", **common}
            )
        return data

    def _run(self) -> None:
        next_publish = time.monotonic() + self._period
        while not self._stop.wait(self._sample):
            self.sample()
            if time.monotonic() >= next_publish:
                next_publish += self._period
                try:
                    self.publish()
                except Exception:  # CloudWatch down for a moment must not stop the metric for good
                    _log.warning("publishing the autoscaler's signal failed", exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="axon-inflight", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _statistics(values: list[float]) -> dict[str, float]:
    return {"SampleCount": float(len(values)), "Sum": sum(values), "Minimum": min(values), "Maximum": max(values)}


def backlog_data(backlogs: Mapping[str, tuple[int, int]], at: datetime) -> list[dict[str, Any]]:
    """SageMaker's async endpoint metrics for each endpoint's (backlog, instances), as ``AWS/SageMaker`` has them:
    ``ApproximateBacklogSize``, ``ApproximateBacklogSizePerInstance`` (with instances only) and
    ``HasBacklogWithoutCapacity`` (1 while requests wait with no instance), by ``EndpointName``."""
    data: list[dict[str, Any]] = []
    for endpoint, (backlog, instances) in sorted(backlogs.items()):
        common = {"Dimensions": [{"Name": "EndpointName", "Value": endpoint}], "Timestamp": at, "Unit": "Count"}
        data.append({"MetricName": names.ASYNC_BACKLOG_METRIC, "Value": float(backlog), **common})
        if instances:
            data.append({"MetricName": "ApproximateBacklogSizePerInstance", "Value": backlog / instances, **common})
        without = 1.0 if backlog and not instances else 0.0
        data.append({"MetricName": names.ASYNC_NO_CAPACITY_METRIC, "Value": without, **common})
    return data
