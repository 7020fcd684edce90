"""The two per-API rollback alarms (5xx answers and latency of the new version), as PutMetricAlarm requests.

Both platforms use the same names (``axon-<api>-5xx``/``-latency``) and the same policy; only the metric source
differs (SageMaker's endpoint metrics, the ALB's target-group metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axon import names
from axon.platforms.base import VersionRef

# An alarm fires on the first bad minute: a rollout is the moment to be strict.
_COMMON = {
    "Period": 60,
    "EvaluationPeriods": 1,
    "DatapointsToAlarm": 1,
    "TreatMissingData": "notBreaching",
    "ComparisonOperator": "GreaterThanThreshold",
}
ALARM_KINDS = ("5xx", "latency")
LATENCY_SHARE_OF_TIMEOUT = 0.8  # the latency alarm fires at 80 % of serving.request_timeout_seconds


@dataclass(frozen=True)
class RollbackAlarmMetrics:
    """The request metrics a platform's rollback alarms watch (not the autoscaler's ``MetricSource``): where
    they live, scoped to the new version only (the old one cannot stop it)."""

    namespace: str
    dimensions: list[dict[str, str]]
    errors_metric: str  # a count of 5xx answers, read as Sum
    latency_metric: str  # read as Average
    latency_unit_per_second: float  # SageMaker's ModelLatency is in microseconds, the ALB's in seconds


def rollback_alarm_requests(version: VersionRef, source: RollbackAlarmMetrics, subject: str) -> list[dict[str, Any]]:
    common = {**_COMMON, "Namespace": source.namespace, "Dimensions": source.dimensions}
    latency = version.spec.serving.request_timeout_seconds * LATENCY_SHARE_OF_TIMEOUT * source.latency_unit_per_second
    return [
        {
            **common,
            "AlarmName": names.alarm_name(version.api, ALARM_KINDS[0]),
            "AlarmDescription": f"axon: 5XX answers of {subject}; rolls the rollout back",
            "MetricName": source.errors_metric,
            "Statistic": "Sum",
            "Threshold": 0.0,
        },
        {
            **common,
            "AlarmName": names.alarm_name(version.api, ALARM_KINDS[1]),
            "AlarmDescription": f"axon: latency of {subject}; rolls the rollout back",
            "MetricName": source.latency_metric,
            "Statistic": "Average",
            "Threshold": latency,
        },
    ]


def api_alarm_names(api: str) -> list[str]:
    """Both rollback alarms of ``api``: deleted with the API, or when its first version fails (nothing is live)."""
    return [names.alarm_name(api, kind) for kind in ALARM_KINDS]
