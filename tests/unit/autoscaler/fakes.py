"""In-memory Platform and MetricSource for autoscaler tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from axon.autoscaler.metrics import BacklogSeries, RequestSeries, Series, SeriesKey, Signals
from axon.platforms.base import Capacity, DeploymentStatus, Platform, VersionRef


@dataclass
class FakePlatform(Platform):
    """Capacities per API; records every set_capacity call; ``fail`` names APIs whose calls raise."""

    capacities: dict[str, Capacity] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)
    name: str = "fake"

    def capacity(self, api: str) -> Capacity | None:
        if api in self.fail:
            raise RuntimeError(f"{api}: platform unreachable")
        return self.capacities.get(api)

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        self.calls.append((api, variant, replicas))
        old = self.capacities[api]
        self.capacities[api] = Capacity(variant, replicas, old.ready, old.can_change, old.status)

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        raise NotImplementedError  # the autoscaler never deploys

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        raise NotImplementedError

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        raise NotImplementedError

    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        raise NotImplementedError

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        raise NotImplementedError

    def remove_version(self, version: VersionRef) -> None:
        raise NotImplementedError

    def delete_api(self, api: str) -> None:
        raise NotImplementedError


@dataclass
class FakeMetrics:
    """Total in-flight series and request series per key, filtered to the asked range as CloudWatch does;
    counts calls."""

    series: dict[SeriesKey, Series] = field(default_factory=dict)
    requests: dict[SeriesKey, RequestSeries] = field(default_factory=dict)
    backlog: dict[SeriesKey, BacklogSeries] = field(default_factory=dict)
    calls: int = 0

    def signals(self, keys: Sequence[SeriesKey], start: datetime, end: datetime) -> dict[SeriesKey, Signals]:
        self.calls += 1
        lo, hi = start.timestamp(), end.timestamp()
        found = {}
        for key in keys:
            in_flight = [p for p in self.series.get(key, []) if lo <= p[0] <= hi]
            requests = [p for p in self.requests.get(key, []) if lo <= p[0] <= hi]
            backlog = [p for p in self.backlog.get(key, []) if lo <= p[0] <= hi]
            if key in self.series or key in self.requests or key in self.backlog:
                found[key] = Signals(in_flight, requests, backlog)
        return found
