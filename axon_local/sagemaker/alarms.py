"""Rollback alarms read from the local CloudWatch, as SageMaker reads them (``DescribeAlarms``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CloudWatchAlarms:
    """The ``AlarmSource`` port over a CloudWatch client (the front door's own, in local mode)."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def firing(self, alarm_names: Sequence[str]) -> list[str]:
        names = list(alarm_names)
        firing: list[str] = []
        # DescribeAlarms takes at most 100 names per call; AutoRollbackConfig allows 10, so one call suffices.
        # The state is filtered here, not with StateValue=: moto ignores that filter when names are given.
        response = self._cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for kind in ("MetricAlarms", "CompositeAlarms"):
            firing.extend(a["AlarmName"] for a in response.get(kind, []) if a.get("StateValue") == "ALARM")
        return sorted(set(firing))
