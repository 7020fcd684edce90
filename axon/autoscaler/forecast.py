"""Capacity asked for ahead of time: recurring bursts from a day of history, and smooth rises by their trend.

A reactive scaler meets a burst one detection delay plus one provisioning time late, and a burst shorter than
that is never met at all. Two regimes can be seen coming, and only from the past, so both read the per-minute
history of the API's load that the scaler keeps (:class:`History`, 24 h):

- **Recurring bursts.** A burst *onset* starts at least two minutes whose peak load each asks for at least 3x
  the replicas of the baseline before (the median of the five minutes before), and at least
  :data:`ONSET_MIN_REPLICAS` more (an *end* the reverse, against the minutes after). When the last two onsets (or
  ends) are a period ``P`` apart (and, with three or more, the interval before agrees within
  :data:`PERIOD_TOLERANCE`: a confirmed period), the load one period ago
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
BURST_FACTOR = 3  # a burst asks for at least 3x the replicas of its baseline: a 2x swing is within what noise does
ONSET_MIN_REPLICAS = 2  # an onset adds at least this many replicas (noise at low load is not a burst)
BURST_MIN_MINUTES = 2  # a burst lasts this long at least: one noisy minute is not one
BASELINE_MINUTES = 5  # the baseline an onset (end) is measured against: the median of the minutes before (after)
BASELINE_MIN_KNOWN = 3  # ... of which at least this many have data
PERIOD_TOLERANCE = 0.1  # two intervals agree within 10 % (and always within 2 minutes)
MIN_PERIOD_SECONDS = 10 * MINUTE  # bursts closer than this are one bursty regime: the downscale window holds them
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
    confirmed: bool = False  # a burst period seen three times: enough to release capacity on, not just to add it


def edges(history: History, replicas_for: Callable[[float], int]) -> tuple[list[float], list[float]]:
    """Burst onsets and ends in the history.

    An onset is the first of at least :data:`BURST_MIN_MINUTES` minutes that each ask for at least
    :data:`BURST_FACTOR` times the replicas of the baseline before it (the median of up to :data:`BASELINE_MINUTES`
    minutes), and two more; an end is the reverse, against the baseline after it. Against a median, one noisy
    minute is no burst.
    """
    counts = [None if p is None else max(replicas_for(p), 1) for p in history.peaks]
    minutes = [minute for minute, _ in history.minutes()]
    starts, ends = [], []
    for i, count in enumerate(counts):
        previous = counts[i - 1] if i else None
        # Cheap necessary conditions first (a day is ~1,500 minutes, every decision): an onset rises above the
        # minute before to at least 3 replicas, an end falls below a minute of at least 3.
        if count is not None and count >= BURST_FACTOR and (previous is None or count > previous):
            before = _median(counts[max(0, i - BASELINE_MINUTES) : i])
            if (
                before is not None
                and _all_above(counts[i : i + BURST_MIN_MINUTES], before)
                and not _all_above(counts[i - 1 : i], before)
            ):
                starts.append(minutes[i])
        if previous is not None and previous >= BURST_FACTOR and (count is None or count < previous):
            after = _median(counts[i : i + BASELINE_MINUTES])
            if (
                after is not None
                and _all_above(counts[max(0, i - BURST_MIN_MINUTES) : i], after)
                and not _all_above(counts[i : i + 1], after)
            ):
                ends.append(minutes[i])
    return starts, ends


def _median(counts: Sequence[int | None]) -> float | None:
    known = sorted(c for c in counts if c is not None)
    return None if len(known) < BASELINE_MIN_KNOWN else known[len(known) // 2]


def _all_above(counts: Sequence[int | None], baseline: float) -> bool:
    """Every minute (at least one, all known) asks for 3x the baseline's replicas and two more."""
    return bool(counts) and all(
        c is not None and c >= BURST_FACTOR * baseline and c - baseline >= ONSET_MIN_REPLICAS for c in counts
    )


def period(events: Sequence[float]) -> tuple[float, bool] | None:
    """The recurrence of the newest events and whether it is confirmed, or ``None`` when they show none.

    Two events give a tentative period; three whose two intervals agree (within 10 %, and always within two
    minutes) confirm it; three that disagree show none.

    >>> period([0.0, 1800.0, 3600.0]), period([0.0, 1800.0]), period([0.0, 900.0, 2700.0])
    ((1800.0, True), (1800.0, False), None)
    """
    if len(events) < 2:
        return None
    last = events[-1] - events[-2]
    if last < MIN_PERIOD_SECONDS:
        return None
    if len(events) >= 3:
        before = events[-2] - events[-3]
        if abs(last - before) > max(2 * MINUTE, PERIOD_TOLERANCE * last):
            return None
        return last, True
    return last, False


def burst_forecast(history: History, replicas_for: Callable[[float], int], now: float, lead: float) -> Forecast | None:
    """The largest load one period before any moment of ``[now, now + lead]``, when the bursts recur.

    The period comes from the onsets or, failing them, from the ends: a burst already under way when the history
    began has no onset, but its end and the next burst's end are one period apart as well.
    """
    starts, ends = edges(history, replicas_for)
    found = period(starts) or period(ends)
    if found is None:
        return None
    every, confirmed = found
    first = math.floor((now - every) / MINUTE) * MINUTE
    values = [history.at(first + i * MINUTE) for i in range(int(lead // MINUTE) + 2)]
    known = [v for v in values if v is not None]
    return Forecast(max(known), "burst", every, confirmed) if known else None


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
