"""``aws-target-tracking``: Application Auto Scaling target tracking on a SageMaker variant, as AWS documents it.

Target tracking owns two CloudWatch alarms. AlarmHigh (metric > target for 3 datapoints) scales out to
``ceil(instances * metric / target)``; AlarmLow (metric < 90% of target for 15 minutes of datapoints) scales
in the same way. Cooldowns are 300 s each (SageMaker's default): a scale-in waits for both to pass, a
scale-out is never blocked by its own cooldown when it asks for more than is already requested.

Standard: ``SageMakerVariantInvocationsPerInstance`` (invocations per minute per instance), 1-minute
datapoints visible a minute later, alarms 3 of 3 minutes high / 15 of 15 low, evaluated every minute.
High resolution: ``ConcurrentRequestsPerModel`` (in flight per instance), 10-s datapoints, alarms 3 of 3 high
(30 s) / 90 of 90 low (15 min), evaluated every 10 s.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from bench.autoscaler.engine import View

COOLDOWN = 300
LOW_RATIO = 0.9


class _TargetTracking(ABC):
    name: str
    tick_seconds: int
    high_points: int
    low_points: int

    def __init__(self, target: float):
        self.target = target
        self.last_out = self.last_in = -math.inf

    @abstractmethod
    def metric(self, view: View) -> list[tuple[float, int]]:
        """Visible datapoints, oldest first: (value per instance, instances it was averaged over)."""

    def demand(self, latest: tuple[float, int]) -> int:
        """Instances that would bring the metric to the target: ``ceil(instances * metric / target)``."""
        value, instances = latest
        return math.ceil(round(instances * value / self.target, 9))

    def step(self, view: View) -> int:
        datapoints = self.metric(view)
        values = [v for v, _ in datapoints]
        now, current = view.now, view.requested
        if len(values) >= self.high_points and all(v > self.target for v in values[-self.high_points :]):
            wanted = self.demand(datapoints[-1])
            if wanted > current:
                self.last_out = now
                return wanted
        low = self.target * LOW_RATIO
        if len(values) >= self.low_points and all(v < low for v in values[-self.low_points :]):
            cooled = now - self.last_out >= COOLDOWN and now - self.last_in >= COOLDOWN
            wanted = self.demand(datapoints[-1])
            if cooled and wanted < current:
                self.last_in = now
                return wanted
        return current


class AwsTargetTracking(_TargetTracking):
    """Standard: 1-minute InvocationsPerInstance; ``target`` in invocations per instance per minute."""

    name = "aws-target-tracking"
    tick_seconds = 60
    high_points = 3
    low_points = 15
    publish_lag = 60  # a 1-minute SageMaker datapoint is visible about a minute after it closes

    def __init__(self, target: float):
        super().__init__(target)
        self.instances: dict[int, int] = {}  # minute -> instances in service when it closed

    def metric(self, view: View) -> list[tuple[float, int]]:
        self.instances[view.now // 60] = max(view.ready, 1)
        closed = (view.now - self.publish_lag) // 60  # minutes [0, closed) are visible
        datapoints = []
        for m in range(max(0, closed - self.low_points), closed):
            instances = self.instances.get(m + 1, max(view.ready, 1))  # in service when minute m closed
            datapoints.append((float(view.arrivals_per_minute[m]) / instances, instances))
        return datapoints


class AwsTargetTrackingHighRes(_TargetTracking):
    """High resolution: 10-s ConcurrentRequestsPerModel; ``target`` in requests in flight per instance."""

    name = "aws-target-tracking-hr"
    tick_seconds = 10
    high_points = 3
    low_points = 90

    def metric(self, view: View) -> list[tuple[float, int]]:
        points = view.datapoints(since=view.now - (self.low_points + 4) * 10)
        instances = max(view.ready, 1)
        return [(total / instances, instances) for _, total in points[-self.low_points :]]
