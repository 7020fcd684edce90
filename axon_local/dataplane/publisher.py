"""``InFlight`` per variant, in its API's namespace ``Axon/Api/<api>``, to the local CloudWatch every 10 s, so the real autoscaler scales local endpoints.

The value is the router's view: requests sent to a variant's replicas and not yet answered, sampled every second
and published as statistic values (average and peak over the 10-second period), at 10-second storage resolution,
with the dimensions the autoscaler reads (``names.in_flight_dimensions``: ``Api``, ``Variant`` and the API's
signal key, which the router has from the replicas' environment).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from axon import names
from axon_local.dataplane.fleet import api_of
from axon_local.dataplane.router import Router

_log = logging.getLogger(__name__)


class InFlightPublisher:
    def __init__(
        self,
        router: Router,
        cloudwatch: Any,
        *,
        sample_seconds: float = 1.0,
        period_seconds: float = float(names.IN_FLIGHT_PERIOD_SECONDS),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._router = router
        self._cloudwatch = cloudwatch
        self._sample = sample_seconds
        self._period = period_seconds
        self._now = now
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
        for (endpoint, variant), values in sorted(samples.items()):
            if not values:
                continue
            api = api_of(endpoint)
            by_api[api].append(
                {
                    "MetricName": names.IN_FLIGHT_METRIC,
                    "Dimensions": names.in_flight_dimensions(api, variant, self._router.signal_key(endpoint)),
                    "Timestamp": self._now(),
                    "StatisticValues": {
                        "SampleCount": float(len(values)),
                        "Sum": float(sum(values)),
                        "Minimum": float(min(values)),
                        "Maximum": float(max(values)),
                    },
                    "Unit": "Count",
                    "StorageResolution": 1,
                }
            )
        for api, data in by_api.items():
            for start in range(0, len(data), 1000):  # PutMetricData takes at most 1000 datums per call
                self._cloudwatch.put_metric_data(
                    Namespace=names.api_metric_namespace(api), MetricData=data[start : start + 1000]
                )

    def _run(self) -> None:
        next_publish = time.monotonic() + self._period
        while not self._stop.wait(self._sample):
            self.sample()
            if time.monotonic() >= next_publish:
                next_publish += self._period
                try:
                    self.publish()
                except Exception:  # CloudWatch down for a moment must not stop the metric for good
                    _log.warning("publishing Axon/InFlight failed", exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="axon-inflight", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
