"""The metric port: where a tick reads every API's signals from (CloudWatch in AWS, a fake in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One API's live variant: the dimensions of its signal (``names.in_flight_dimensions``)."""

    api: str
    variant: str
    signal_key: str = ""  # the API's secret: datapoints without it (forged through EMF) are not read
    backlog: str = ""  # where an async API's queue is measured: BACKLOG_SAGEMAKER, BACKLOG_SQS, "" (real-time)


BACKLOG_SAGEMAKER = "sagemaker"  # AWS/SageMaker ApproximateBacklogSize / HasBacklogWithoutCapacity by EndpointName
BACKLOG_SQS = "sqs"  # AWS/SQS visible + in-flight messages of the API's queue (names.async_queue_name)


# (epoch seconds of the 10-s period start, total mean in-flight of the variant in that period)
Series = list[tuple[float, float]]
# (epoch seconds of the 10-s period start, requests that arrived at the variant in it, refused ones included,
#  mean service seconds per request served in it, queueing excluded; 0.0 when none finished): Observation's
#  request_points
RequestSeries = list[tuple[float, float, float]]
# (epoch seconds of the 60-s period start, most requests queued or being processed outside the replicas in it,
#  1.0 when some waited while the API had no replica, else 0.0): Observation's backlog_points
BacklogSeries = list[tuple[float, float, float]]


@dataclass(frozen=True)
class Signals:
    """What one variant's replicas reported: in-flight, and the demand signal (arrivals and service time).

    Any list may be empty (the SageMaker fallback has in-flight only; a runtime from before the demand signal
    publishes no arrivals); a period without data is absent, never a zero.
    """

    in_flight: Series = field(default_factory=list)
    requests: RequestSeries = field(default_factory=list)
    backlog: BacklogSeries = field(default_factory=list)  # async APIs only: a signal from outside the replicas


class MetricSource(Protocol):
    """Reads the signals of many series at once (one batched fetch per tick).

    Values are totals over the variant's replicas (what the algorithm divides by the target). A series with no
    data is absent: never zeros, so silence is never mistaken for an idle API.
    """

    def signals(self, keys: Sequence[SeriesKey], start: datetime, end: datetime) -> dict[SeriesKey, Signals]: ...
