"""Time for the emulated control plane, injected so tests run a 10-minute rollout in milliseconds."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class CancelledError(Exception):
    """Raised from :meth:`Clock.sleep` when the emulator shuts down mid-wait."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as AWS reports timestamps."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of emulated time; raise :class:`CancelledError` once the clock is closed."""


class SystemClock:
    """Wall time; ``time_scale`` > 1 makes every wait shorter (a 600 s bake lasts 6 s at scale 100).

    Timestamps stay real so DescribeEndpoint times make sense next to other services' timestamps.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._scale = time_scale
        self._closed = threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if self._closed.wait(max(0.0, seconds) / self._scale):
            raise CancelledError("clock closed")

    def close(self) -> None:
        self._closed.set()


class ManualClock:
    """Virtual time: ``sleep`` advances time at once and records the wait (tests of the state machine)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += max(0.0, seconds)
