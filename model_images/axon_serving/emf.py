"""CloudWatch Embedded Metric Format records for closed in-flight windows, one JSON line on stdout.

Multi-worker and multi-replica soundness: every process publishes exactly one ``InFlight`` datapoint per
aligned 10-second window, timestamped at the window's start, with the same dimensions (``Api``,
``Variant``). So for one 10-second period CloudWatch's ``Sum`` is the variant's total mean in-flight
(all replicas, all workers), ``SampleCount`` the number of live serving processes and ``Average`` the mean
per process. The autoscaler reads ``Sum``: Cortex's signal is the total in flight divided by the target.
"""

from __future__ import annotations

from typing import Any

import orjson

from axon.names import IN_FLIGHT_METRIC, METRIC_DIMENSIONS, METRIC_NAMESPACE
from axon_serving.metrics import Window

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
