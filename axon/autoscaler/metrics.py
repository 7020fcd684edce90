"""The metric port: where a tick reads every API's in-flight series from (CloudWatch in AWS, a fake in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One API's live variant: the dimensions of its ``InFlight`` (``names.in_flight_dimensions``)."""

    api: str
    variant: str
    signal_key: str = ""  # the API's secret: datapoints without it (forged through EMF) are not read


# (epoch seconds of the 10-s period start, total mean in-flight of the variant in that period)
Series = list[tuple[float, float]]


class MetricSource(Protocol):
    """Reads in-flight datapoints for many series at once (one batched fetch per tick).

    Values are totals over the variant's replicas (what the algorithm divides by the target). A series with no
    data is absent: never zeros, so silence is never mistaken for an idle API.
    """

    def in_flight(self, keys: Sequence[SeriesKey], start: datetime, end: datetime) -> dict[SeriesKey, Series]: ...
