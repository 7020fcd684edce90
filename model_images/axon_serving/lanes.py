"""Where predictor calls run: on the loop while they are short, on dedicated threads otherwise, and
``async`` predictors on the loop as tasks.

Why adaptive: a thread hop keeps ``/ping``, 503s and 504s answering while a slow predictor runs, but on a
busy loop the woken thread waits for the GIL (up to the 5 ms switch interval) and, measured with wrk on 2
cores (bench/serving), halved throughput on a trivial predictor (``run_in_executor`` was worse still).
A call under 1 ms gains nothing from a thread (the GIL serialises pure Python anyway), so sync calls run
inline once ``_PROBATION`` calls in a row took under ``_INLINE_BUDGET``; one slower call sends them back
to the threads. The cost of a wrong guess is bounded: one call blocks the loop once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

Done = Callable[[Any, BaseException | None], None]
_Job = tuple[Callable[[Any], Any], Any, Done] | None


class Lanes(ABC):
    """Runs one call at a time per lane; the scheduler never submits more calls than there are lanes."""

    inline = False  # True: calls are short enough to run synchronously on the loop (``call_now``)

    def call_now(self, call: Callable[[Any], Any], argument: Any) -> tuple[Any, BaseException | None]:
        """Run synchronously on the loop; only called while ``inline`` is True."""
        raise NotImplementedError(f"{type(self).__name__} never runs calls inline")

    @abstractmethod
    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        """Start ``call(argument)``; ``done(value, error)`` is then called on the event loop."""

    @abstractmethod
    def close(self) -> None:
        """Stop taking calls; calls already running finish on their own."""


class ThreadLanes(Lanes):
    """``count`` daemon threads (daemon: a stuck predictor must not keep a drained process alive)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self._loop = loop
        self._jobs: SimpleQueue[_Job] = SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"axon-lane-{index}", daemon=True) for index in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        self._jobs.put((call, argument, done))

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, argument, done = job
            try:
                value, error = call(argument), None
            except BaseException as caught:  # the user's code may raise anything; the request carries it
                value, error = None, caught
            try:
                self._loop.call_soon_threadsafe(done, value, error)
            except RuntimeError:  # loop already closed: the process is exiting, nobody waits for this
                return


_INLINE_BUDGET = 0.001  # seconds: a call this short blocks the loop less than a thread hop costs
_PROBATION = 32  # consecutive short calls on threads before calls run inline


class AdaptiveLanes(Lanes):
    """Sync calls: inline while they stay short, on ``ThreadLanes`` otherwise."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self._loop = loop
        self._threads = ThreadLanes(loop, count)
        self.short_streak = 0

    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        if not self.inline:
            self._threads.run(_Timed(call), argument, _TimedDone(self, done))
            return
        value, error = self.call_now(call, argument)
        self._loop.call_soon(done, value, error)  # not re-entrant: the scheduler's dispatch loop continues

    def call_now(self, call: Callable[[Any], Any], argument: Any) -> tuple[Any, BaseException | None]:
        """Run synchronously on the loop, timing the call to decide where the next one runs."""
        started = time.perf_counter()
        try:
            value, error = call(argument), None
        except BaseException as caught:  # the user's code may raise anything; the request carries it
            value, error = None, caught
        self.record(time.perf_counter() - started)
        return value, error

    def record(self, seconds: float) -> None:
        self.short_streak = self.short_streak + 1 if seconds < _INLINE_BUDGET else 0
        self.inline = self.short_streak >= _PROBATION

    def close(self) -> None:
        self._threads.close()


class _Timed:
    """Runs a call in a lane thread and returns (value, error, seconds taken): time decides, not outcome."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[[Any], Any]) -> None:
        self.call = call

    def __call__(self, argument: Any) -> tuple[Any, BaseException | None, float]:
        started = time.perf_counter()
        try:
            value, error = self.call(argument), None
        except BaseException as caught:  # carried back to the loop with its timing
            value, error = None, caught
        return value, error, time.perf_counter() - started


class _TimedDone:
    __slots__ = ("done", "lanes")

    def __init__(self, lanes: AdaptiveLanes, done: Done) -> None:
        self.lanes = lanes
        self.done = done

    def __call__(self, timed: tuple[Any, BaseException | None, float], _: BaseException | None) -> None:
        value, error, seconds = timed
        self.lanes.record(seconds)
        self.done(value, error)


class LoopLanes(Lanes):
    """``async`` predictors run as tasks on the loop: no thread hop at all."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._tasks: set[asyncio.Task[Any]] = set()

    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        task: asyncio.Task[Any] = self._loop.create_task(call(argument))
        self._tasks.add(task)
        task.add_done_callback(lambda finished: self._finish(finished, done))

    def _finish(self, task: asyncio.Task[Any], done: Done) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            done(None, asyncio.CancelledError())
        elif (error := task.exception()) is not None:
            done(None, error)
        else:
            done(task.result(), None)

    def close(self) -> None:
        """Running tasks are left to finish: uvicorn's drain waits for the requests awaiting them."""
