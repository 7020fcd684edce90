"""Sliding-window statistics over ``(timestamp, value)`` pairs: the clock is an argument, never read here.

Windows are half-open, ``(end - seconds, end]``: at 10-second datapoints a 60-second window ending at a
datapoint holds exactly six of them, the same six Cortex's ``[60s]`` PromQL range would average.
"""

from __future__ import annotations

from collections.abc import Iterable

Point = tuple[float, float]


def within(points: Iterable[Point], end: float, seconds: float) -> list[float]:
    """Values whose timestamp lies in ``(end - seconds, end]``."""
    start = end - seconds
    return [value for ts, value in points if start < ts <= end]


def window_max(points: Iterable[Point], end: float, seconds: float) -> float | None:
    """Largest value in ``(end - seconds, end]``; ``None`` when the window is empty."""
    values = within(points, end, seconds)
    return max(values) if values else None


def window_min(points: Iterable[Point], end: float, seconds: float) -> float | None:
    """Smallest value in ``(end - seconds, end]``; ``None`` when the window is empty."""
    values = within(points, end, seconds)
    return min(values) if values else None


def window_mean(points: Iterable[Point], end: float, seconds: float) -> float | None:
    """Mean of the values in ``(end - seconds, end]`` (missing datapoints are skipped, not read as zero)."""
    values = within(points, end, seconds)
    return sum(values) / len(values) if values else None
