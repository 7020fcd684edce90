"""CloudWatch Embedded Metric Format documents for decisions: the handler prints one JSON line per API.

A separate namespace (``Axon/Autoscaler``) keeps these apart from the serving runtime's ``Axon/InFlight``
(dimensions Api and Variant), which the autoscaler itself reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from axon.autoscaler.store import DecisionRecord
from axon.names import AUTOSCALER_METRIC_NAMESPACE

METRICS = ("DesiredReplicas", "InFlight", "Decision", "AtMaxReplicas")


def emf_document(record: DecisionRecord) -> dict[str, Any]:
    """One EMF document: ``DesiredReplicas``, ``InFlight``, ``Decision`` (1 when the count changes) and
    ``AtMaxReplicas`` (1 while at max_replicas, what the at-max alarm watches), dimension ``Api``.

    Examples
    --------
    >>> from axon.autoscaler.store import DecisionRecord
    >>> r = DecisionRecord("iris", "v-1", "2024-01-01T00:00:00+00:00", 2, 3, 2, "load", "scale_up", True, False,
    ...                    False, False, 2.5)
    >>> doc = emf_document(r)
    >>> doc["DesiredReplicas"], doc["Decision"], doc["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    (3, 1, 'Axon/Autoscaler')
    """
    return {
        "_aws": {
            "Timestamp": int(datetime.fromisoformat(record.at).timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": AUTOSCALER_METRIC_NAMESPACE,
                    # Per API, and once more with no dimension: the platform's at-max alarm watches that total.
                    "Dimensions": [["Api"], []],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in METRICS],
                }
            ],
        },
        "Api": record.api,
        "Variant": record.variant,
        "Reason": record.reason,
        **{k: v for k, v in (("Demand", record.demand), ("Forecast", record.forecast)) if v is not None},
        "DesiredReplicas": record.desired,
        "InFlight": record.in_flight if record.in_flight is not None else 0.0,
        "Decision": int(record.desired != record.previous),
        "AtMaxReplicas": int(record.at_max),
    }
