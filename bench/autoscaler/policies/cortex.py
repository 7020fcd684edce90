"""``cortex``: Cortex's realtime autoscaler as published (pkg/autoscaler/autoscaler.go@v0.42), at its 10-s tick.

A separate port on purpose: axon's :func:`~axon.autoscaler.algorithm.decide` may change, the baseline must not.
Its in-memory timeline and start time are kept here, as Cortex kept them in its operator process.
"""

from __future__ import annotations

import math

from bench.autoscaler.engine import View


class Cortex:
    name = "cortex"
    tick_seconds = 10

    def __init__(
        self,
        target_in_flight: float,
        min_replicas: int = 1,
        max_replicas: int = 100,
        window: int = 60,
        downscale_stabilization: int = 300,
        upscale_stabilization: int = 60,
        max_downscale_factor: float = 0.75,
        max_upscale_factor: float = 1.5,
        downscale_tolerance: float = 0.05,
        upscale_tolerance: float = 0.05,
    ):
        self.target, self.min, self.max = target_in_flight, min_replicas, max_replicas
        self.window = window
        self.down_period, self.up_period = downscale_stabilization, upscale_stabilization
        self.down_factor, self.up_factor = max_downscale_factor, max_upscale_factor
        self.down_tol, self.up_tol = downscale_tolerance, upscale_tolerance
        self.start: int | None = None
        self.recs: list[tuple[int, int]] = []

    def step(self, view: View) -> int:
        now, current = view.now, view.requested
        self.start = now if self.start is None else self.start
        # sum_over_time / count_over_time over [window]: the mean of the datapoints scraped in the window.
        lag = view.cfg.metric_lag_seconds + 10  # a datapoint is scraped once published
        points = [v for ts, v in view.datapoints(since=now - self.window - lag - 10) if ts + lag > now - self.window]
        if not points:
            return current  # no data: skip the tick
        raw = sum(points) / len(points) / self.target
        rec = math.ceil(round(raw, 9))
        if current * (1 - self.down_tol) < raw < current:
            rec = current
        if current < raw < current * (1 + self.up_tol):
            rec = current
        floor = min(current - 1, math.ceil(current * self.down_factor))
        ceiling = max(current + 1, math.ceil(current * self.up_factor))
        rec = max(self.min, min(self.max, min(max(rec, floor), ceiling)))
        self.recs = [(ts, r) for ts, r in self.recs if ts > now - max(self.down_period, self.up_period)]
        self.recs.append((now, rec))
        request = rec
        if request < current:
            if now - self.start < self.down_period:
                request = current
            else:
                highest = max(r for ts, r in self.recs if ts > now - self.down_period)
                request = max(request, min(highest, current))
        if request > current:
            if now - self.start < self.up_period:
                request = current
            else:
                lowest = min((r for ts, r in self.recs if ts > now - self.up_period), default=rec)
                request = min(request, max(lowest, current))
        return request
