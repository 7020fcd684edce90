"""Per-variant request statistics the router keeps for ``axon get``: in-flight, latency p50/p99, status counts."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

_LATENCY_WINDOW = 1000  # the last 1000 requests per variant: enough for a stable p99, bounded memory


@dataclass(frozen=True)
class VariantStats:
    """A snapshot; latencies in milliseconds over the last requests, ``None`` before the first one."""

    endpoint: str
    variant: str
    in_flight: int
    requests: int
    count_2xx: int
    count_4xx: int
    count_5xx: int
    p50_ms: float | None
    p99_ms: float | None


@dataclass
class _Counters:
    in_flight: int = 0
    requests: int = 0
    by_class: dict[int, int] = field(default_factory=lambda: {2: 0, 4: 0, 5: 0})
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCY_WINDOW))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100), as CloudWatch computes ``pNN`` on raw samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class StatsBook:
    """Thread-safe counters keyed by (endpoint, variant); the router writes, readers take snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], _Counters] = {}

    def _get(self, endpoint: str, variant: str) -> _Counters:
        return self._counters.setdefault((endpoint, variant), _Counters())

    def started(self, endpoint: str, variant: str) -> None:
        with self._lock:
            self._get(endpoint, variant).in_flight += 1

    def finished(self, endpoint: str, variant: str, status: int, seconds: float) -> None:
        """Count one request by the status the *model* answered (SageMaker's Invocation4XX/5XXErrors)."""
        with self._lock:
            counters = self._get(endpoint, variant)
            counters.in_flight -= 1
            counters.requests += 1
            status_class = status // 100
            if status_class in counters.by_class:
                counters.by_class[status_class] += 1
            counters.latencies.append(seconds * 1000.0)

    def abandoned(self, endpoint: str, variant: str) -> None:
        """A request that never reached the model (it is retried elsewhere): in flight no more, not counted."""
        with self._lock:
            self._get(endpoint, variant).in_flight -= 1

    def in_flight(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return {key: c.in_flight for key, c in self._counters.items()}

    def forget(self, endpoint: str) -> None:
        """Drop a deleted endpoint's counters, so a recreated one starts from zero."""
        with self._lock:
            for key in [k for k in self._counters if k[0] == endpoint]:
                del self._counters[key]

    def snapshot(self, endpoint: str | None = None) -> list[VariantStats]:
        with self._lock:
            items = [
                (k, c.in_flight, c.requests, dict(c.by_class), list(c.latencies))
                for k, c in self._counters.items()
                if endpoint is None or k[0] == endpoint
            ]
        return [
            VariantStats(
                endpoint=key[0],
                variant=key[1],
                in_flight=in_flight,
                requests=requests,
                count_2xx=classes[2],
                count_4xx=classes[4],
                count_5xx=classes[5],
                p50_ms=percentile(latencies, 50),
                p99_ms=percentile(latencies, 99),
            )
            for key, in_flight, requests, classes, latencies in sorted(items)
        ]
