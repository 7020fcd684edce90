"""Closed in-flight windows, published twice: EMF lines on stdout (dashboards) and PutMetricData (autoscaler).

EMF can name any namespace from any log group, so it cannot carry a signal another API must not forge; the
autoscaler reads ``InFlight``, ``Arrivals`` and ``ServiceTime`` from the API's own namespace ``Axon/Api/<api>``,
which only that API's IAM role may write with ``PutMetricData``, and only datapoints carrying the API's secret
signal key as a dimension, which an EMF line printed by another API's code cannot carry (``signal_request``,
``MetricPublisher``). The EMF line never carries the key: log readers must not learn it.

Multi-worker and multi-replica soundness: every process publishes exactly one ``InFlight`` datapoint per
aligned 10-second window, timestamped at the window's start, with the same dimensions (``Api``,
``Variant``). So for one 10-second period CloudWatch's ``Sum`` is the variant's total mean in-flight
(all replicas, all workers), ``SampleCount`` the number of live serving processes and ``Average`` the mean
per process. The autoscaler reads ``Sum``: Cortex's signal is the total in flight divided by the target.

The demand signal (Little's law: demand = arrival rate x service time) rides in the same call, so it is as
unforgeable and arrives with the in-flight datapoint or not at all. ``Arrivals`` is one datapoint per process
and window, so its ``Sum`` is the variant's arrivals. ``ServiceTime`` is a statistic set per process and window
(``SampleCount`` requests served, ``Sum`` their service seconds, ``Minimum``/``Maximum`` one call's), sent only
when the process served something: CloudWatch's ``Average`` over the period is then the total service seconds over
the total requests served by all processes, the variant-wide mean per request, weighted as Little's law needs
(a mean of per-process means would let an idle replica's one slow request count as much as a busy one's
thousand). A period with arrivals but no ``ServiceTime`` means nothing finished in it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from axon.names import (
    ARRIVALS_METRIC,
    IN_FLIGHT_METRIC,
    METRIC_DIMENSIONS,
    METRIC_NAMESPACE,
    SERVICE_TIME_METRIC,
    SIGNAL_KEY_ENV,
    api_metric_namespace,
    in_flight_dimensions,
)
from axon_serving.metrics import Window

logger = logging.getLogger("axon_serving")
REQUESTS_METRIC = "Requests"
ERRORS_4XX_METRIC = "Errors4xx"
ERRORS_5XX_METRIC = "Errors5xx"
LATENCY_METRIC = "Latency"


def emf_record(window: Window, api: str, variant: str) -> bytes:
    """One EMF line (high resolution: ``StorageResolution`` 1, so 10-second periods can be read)."""
    values: dict[str, tuple[float, str]] = {
        IN_FLIGHT_METRIC: (window.in_flight, "Count"),
        REQUESTS_METRIC: (window.requests, "Count"),
        ERRORS_4XX_METRIC: (window.errors_4xx, "Count"),
        ERRORS_5XX_METRIC: (window.errors_5xx, "Count"),
    }
    if window.latency_ms is not None:
        values[LATENCY_METRIC] = (window.latency_ms, "Milliseconds")
    dimensions = dict(zip(METRIC_DIMENSIONS, (api, variant), strict=True))
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(window.start * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [list(METRIC_DIMENSIONS)],
                    "Metrics": [
                        {"Name": name, "Unit": unit, "StorageResolution": 1} for name, (_, unit) in values.items()
                    ],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (value, _) in values.items()},
    }
    return orjson.dumps(record) + b"\n"


def signal_request(window: Window, api: str, variant: str, signal_key: str) -> dict[str, Any]:
    """``PutMetricData`` of the window's ``InFlight``, ``Arrivals`` and ``ServiceTime`` in the API's own
    namespace: the autoscaler's input.

    Only this API's role may write ``Axon/Api/<api>`` (IAM condition ``cloudwatch:namespace``), and only this
    API's replicas know ``signal_key``, so another API's code cannot steer this API's replica count; the EMF line
    above stays for dashboards only.
    """
    common = {
        "Dimensions": in_flight_dimensions(api, variant, signal_key),
        "Timestamp": datetime.fromtimestamp(window.start, UTC),
        "StorageResolution": 1,
    }
    service = window.service
    data: list[dict[str, Any]] = [
        {"MetricName": IN_FLIGHT_METRIC, "Value": window.in_flight, "Unit": "Count", **common},
        {"MetricName": ARRIVALS_METRIC, "Value": float(service.arrivals), "Unit": "Count", **common},
    ]
    if service.served:  # a statistic set needs samples; "nothing served" is the datum's absence
        statistics = {
            "SampleCount": float(service.served),
            "Sum": service.total,
            "Minimum": service.minimum,
            "Maximum": service.maximum,
        }
        data.append({"MetricName": SERVICE_TIME_METRIC, "StatisticValues": statistics, "Unit": "Seconds", **common})
    return {"Namespace": api_metric_namespace(api), "MetricData": data}


PUT_METRICS_ENV = "AXON_PUT_METRICS"  # "0": EMF only (local mode, whose router publishes the signal)


def publisher_for(env: Mapping[str, str]) -> MetricPublisher | None:
    """Publishing is on when the platform set ``AXON_API`` (SageMaker model and ECS task environments do)."""
    api = env.get("AXON_API")
    if not api:
        return None
    return MetricPublisher(
        api,
        env.get("AXON_VARIANT", "local"),
        signal_key=env.get(SIGNAL_KEY_ENV, ""),
        put=env.get(PUT_METRICS_ENV, "1") != "0",
    )


class MetricPublisher:
    """Publishes each closed window: the EMF line on stdout, and the signal by ``PutMetricData`` from a thread.

    The call never blocks the event loop nor raises: a full queue (CloudWatch slow or down) drops the oldest
    window's send, and a failed send is logged; the autoscaler reads a gap as "hold", never as zero load.
    """

    def __init__(
        self,
        api: str,
        variant: str,
        client: Any = None,
        *,
        signal_key: str = "",
        put: bool = True,
        queue_size: int = 32,
    ) -> None:
        self.api = api
        self.variant = variant
        self.signal_key = signal_key
        self.put = put
        self._client = client
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        if put:
            threading.Thread(target=self._send_forever, name="axon-metrics", daemon=True).start()

    def __call__(self, window: Window) -> None:
        sys.stdout.buffer.write(emf_record(window, self.api, self.variant))
        sys.stdout.flush()
        if not self.put:
            return
        request = signal_request(window, self.api, self.variant, self.signal_key)
        while True:
            try:
                self._queue.put_nowait(request)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()

    def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until queued sends are done: at shutdown, so the last window is not lost."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _send_forever(self) -> None:
        while True:
            request = self._queue.get()
            try:
                if self._client is None:
                    import boto3  # the serving image has it (bundle download); imported only when publishing

                    self._client = boto3.client("cloudwatch")
                self._client.put_metric_data(**request)
            except Exception:  # a metric send must never take the server down
                logger.warning("PutMetricData to %s failed", request["Namespace"], exc_info=True)
            finally:
                self._queue.task_done()
