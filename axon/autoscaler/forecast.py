"""Capacity asked for ahead of time: recurring bursts from a day of history, and smooth rises by their trend.

A reactive scaler meets a burst one detection delay plus one provisioning time late, and a burst shorter than
that is never met at all. Two regimes can be seen coming, and only from the past, so both read the per-minute
history of the API's load that the scaler keeps (:class:`History`, 24 h):

- **Recurring bursts.** A burst *onset* is a minute whose peak load asks for at least twice the replicas of the
  minute before, and at least :data:`ONSET_MIN_REPLICAS` more (an *end* the reverse). When the last two onsets (or
  ends) are a period ``P`` apart (and, with three or more, the interval before agrees within
  :data:`PERIOD_TOLERANCE`), the load one period ago
  is the forecast: the capacity for the next ``lead`` seconds is what the history held ``P`` earlier. So the
  burst is pre-provisioned one provisioning time ahead, and capacity is held across a gap shorter than that. A
  burst that does not come costs one early start and no more: the forecast reads history, so the next period
  ahead finds the missed burst's quiet minutes.
- **Smooth rises.** Over the last :data:`TREND_MINUTES` complete minutes, a least-squares line that explains the
  load well (R^2 >= :data:`TREND_MIN_R2`) and rises is extrapolated ``lead`` seconds ahead, at most doubling the
  load. Bursty traffic fits no line (low R^2), so it gets no trend and is not over-provisioned.

Everything here is in load units (total concurrency, as :mod:`axon.autoscaler.demand` estimates it); the caller
turns it into replicas with the policy's target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MINUTE = 60
HISTORY_MINUTES = 24 * 60 + 30  # a day, plus room for the lookahead of a 24-h period
ONSET_MIN_REPLICAS = 2  # an onset adds at least this many replicas (noise at low load is not a burst)
PERIOD_TOLERANCE = 0.1  # two intervals agree within 10 % (and always within 2 minutes)
MIN_PERIOD_SECONDS = 5 * MINUTE  # bursts closer than this are one bursty regime, not a period
TREND_MINUTES = 5
TREND_MIN_R2 = 0.8
TREND_MAX_GROWTH = 2.0  # a trend forecast asks for at most twice the current load


@dataclass(frozen=True)
class History:
    """Peak load per minute, oldest first, from ``start`` (a minute boundary, epoch s); ``None`` for no data."""

    start: float | None = None
    peaks: tuple[float | None, ...] = ()

    def record(self, loads: Iterable[tuple[float, float]]) -> History:
        """Fold ``(period start, load)`` pairs into their minutes (the peak wins), keeping the last day.

        >>> History().record([(60.0, 2.0), (70.0, 3.0), (130.0, 1.0)]).peaks
        (3.0, 1.0)
        """
        start, peaks = self.start, list(self.peaks)
        for at, load in loads:
            minute = math.floor(at / MINUTE) * MINUTE
            if start is None:
                start = minute
            if minute < start:
                continue  # older than the kept day
            index = int((minute - start) // MINUTE)
            peaks.extend([None] * (index + 1 - len(peaks)))
            current = peaks[index]
            peaks[index] = load if current is None else max(current, load)
        if start is not None and len(peaks) > HISTORY_MINUTES:
            drop = len(peaks) - HISTORY_MINUTES
            start, peaks = start + drop * MINUTE, peaks[drop:]
        return History(start, tuple(peaks))

    def at(self, minute: float) -> float | None:
        """The peak of the minute starting at ``minute`` (``None`` outside the history or without data)."""
        if self.start is None:
            return None
        index = int((minute - self.start) // MINUTE)
        return self.peaks[index] if 0 <= index < len(self.peaks) else None

    def minutes(self) -> list[tuple[float, float | None]]:
        start = self.start if self.start is not None else 0.0
        return [(start + i * MINUTE, peak) for i, peak in enumerate(self.peaks)]


@dataclass(frozen=True)
class Forecast:
    """The load to have capacity for over the lead time, and what it came from."""

    load: float
    kind: str  # "burst" (a recurring burst, one period ago) or "trend" (a smooth rise, extrapolated)
    period_seconds: float | None = None


def edges(history: History, replicas_for: Callable[[float], int]) -> tuple[list[float], list[float]]:
    """Burst onsets and ends: minutes asking for at least twice the replicas of the minute before (and two more at
    least), and minutes asking for at most half (and two fewer at least)."""
    starts, ends = [], []
    previous: float | None = None
    for minute, peak in history.minutes():
        if peak is not None and previous is not None:
            now, before = max(replicas_for(peak), 1), max(replicas_for(previous), 1)
            if now >= 2 * before and now - before >= ONSET_MIN_REPLICAS:
                starts.append(minute)
            elif before >= 2 * now and before - now >= ONSET_MIN_REPLICAS:
                ends.append(minute)
        previous = peak
    return starts, ends


def period(starts: Sequence[float]) -> float | None:
    """The recurrence of the newest onsets, or ``None`` when they show none.

    >>> period([0.0, 1800.0, 3600.0]), period([0.0, 1800.0]), period([0.0, 600.0, 1800.0])
    (1800.0, 1800.0, None)
    """
    if len(starts) < 2:
        return None
    last = starts[-1] - starts[-2]
    if last < MIN_PERIOD_SECONDS:
        return None
    if len(starts) >= 3:
        before = starts[-2] - starts[-3]
        if abs(last - before) > max(2 * MINUTE, PERIOD_TOLERANCE * last):
            return None
    return last


def burst_forecast(history: History, replicas_for: Callable[[float], int], now: float, lead: float) -> Forecast | None:
    """The largest load one period before any moment of ``[now, now + lead]``, when the bursts recur.

    The period comes from the onsets or, failing them, from the ends: a burst already under way when the history
    began has no onset, but its end and the next burst's end are one period apart as well.
    """
    starts, ends = edges(history, replicas_for)
    every = period(starts) or period(ends)
    if every is None:
        return None
    first = math.floor((now - every) / MINUTE) * MINUTE
    values = [history.at(first + i * MINUTE) for i in range(int(lead // MINUTE) + 2)]
    known = [v for v in values if v is not None]
    return Forecast(max(known), "burst", every) if known else None


def trend_forecast(history: History, now: float, lead: float) -> Forecast | None:
    """The load ``lead`` seconds after the newest complete minute, if the last minutes rise along a line."""
    current = math.floor(now / MINUTE) * MINUTE  # the minute under way is incomplete: its peak is partial
    ys = [history.at(current - (TREND_MINUTES - i) * MINUTE) for i in range(TREND_MINUTES)]
    if any(y is None for y in ys):
        return None
    values = [float(y) for y in ys if y is not None]
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    syy = sum((y - mean_y) ** 2 for y in values)
    slope = sxy / sxx
    if slope <= 0 or syy == 0 or sxy * sxy / (sxx * syy) < TREND_MIN_R2:
        return None
    fitted = mean_y + slope * (n - 1 - mean_x)
    ahead = fitted + slope * (lead + now - current + MINUTE) / MINUTE  # from the newest minute's start
    return Forecast(min(ahead, TREND_MAX_GROWTH * fitted), "trend")
