"""Admission, queueing and batching: at most ``concurrency`` predictor calls at once, each of up to
``batch_size`` requests, with a bounded queue in front.

Batches form while the lanes are busy: a request that arrives when a lane is idle starts at once (or after
``batch_timeout`` when batching, unless the batch fills first); requests that arrive while every lane is
busy wait and leave together when one frees. Under load batches fill by themselves even with a zero timeout.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from axon_serving.errors import PredictorOutputError, QueueFullError, RequestTimeoutError
from axon_serving.lanes import Lanes
from axon_serving.metrics import ServiceMeter
from axon_serving.predictor import Handler, is_async
from axon_serving.protocol import ScheduledResult

Call = Callable[[list[Any]], Any]


@dataclass(slots=True, eq=False)
class Item:
    """One admitted request: its payload, the future its caller awaits, and where it stands."""

    payload: Any
    future: asyncio.Future[ScheduledResult]
    arrived: float
    timer: asyncio.TimerHandle | None = None
    started: bool = False
    abandoned: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class Strategy:
    """How requests reach the predictor: ``call`` over a list of payloads (a batch, or one request),
    whether it is async, the effective batch size, and ``single``, the bare sync ``predict`` the fast
    path calls (``None`` when batching or async).
    """

    call: Call
    is_async: bool
    batch_size: int
    single: Callable[[Any], Any] | None = None


def strategy(handler: Handler, batch_size: int) -> Strategy:
    """Without ``predict_batch`` the batch size is 1 whatever the spec says: batching is this choice of
    call, not a branch in the scheduler.
    """
    batch = handler.predict_batch
    if batch_size > 1 and batch is not None:
        return Strategy(batch, is_async(batch), batch_size)
    predict = handler.predict
    if is_async(predict):

        async def call_async(payloads: list[Any]) -> list[Any]:
            return [await predict(payloads[0])]

        return Strategy(call_async, True, 1)

    def call(payloads: list[Any]) -> list[Any]:
        return [predict(payloads[0])]

    return Strategy(call, False, 1, predict)


class Scheduler:
    """Runs on the event loop only; ``in_flight`` (queued + in the predictor) is the autoscaling signal."""

    def __init__(
        self,
        plan: Strategy,
        lanes: Lanes,
        *,
        loop: asyncio.AbstractEventLoop,
        concurrency: int,
        batch_timeout: float,
        queue_length: int,
        timeout: float,
        meter: ServiceMeter | None = None,
    ) -> None:
        self._call = plan.call
        self.meter = meter if meter is not None else ServiceMeter()
        self._single = plan.single
        batch_size = plan.batch_size
        self._lanes = lanes
        self._loop = loop
        self._batch_size = batch_size
        self._batch_timeout = batch_timeout
        self._timeout = timeout
        self.capacity = concurrency * batch_size + queue_length
        self._pending: deque[Item] = deque()
        self._queued = 0
        self._running = 0
        self._idle = concurrency
        self._timer: asyncio.TimerHandle | None = None

    @property
    def in_flight(self) -> int:
        return self._queued + self._running

    def try_now(self, payload: Any) -> ScheduledResult | None:
        """The fast path: run at once, synchronously, when calls are short (``Lanes.inline``), a lane is
        idle, nobody is queued and there is no batch to form. No future, no timer, no loop hop: for a
        sub-millisecond predictor this is most of the difference to a hand-written app. ``None``: submit.
        """
        single = self._single
        if single is None or not (self._lanes.inline and self._idle and not self._queued):
            return None
        meter = self.meter
        meter.arrived()
        self._running += 1
        started = meter.clock()
        try:
            value, error = self._lanes.call_now(single, payload)
        finally:
            self._running -= 1
            meter.served(1, meter.clock() - started)
        return ScheduledResult(value) if error is None else ScheduledResult(error=error)

    def submit(self, payload: Any) -> Item:
        """Admit a request or refuse it with ``QueueFullError`` (503) when ``capacity`` is reached.

        Refused requests count as arrivals too: under overload they are the demand that in-flight cannot show.
        """
        self.meter.arrived()
        if self._queued + self._running >= self.capacity:
            raise QueueFullError(f"{self.in_flight} requests in flight, the most this replica takes")
        now = self._loop.time()
        item = Item(payload, self._loop.create_future(), now)
        # One timer handle per request: several times cheaper than an asyncio.timeout block around the await.
        item.timer = self._loop.call_at(now + self._timeout, self._expire, item)
        self._pending.append(item)
        self._queued += 1
        if self._idle:
            self._dispatch()
        return item

    def abandon(self, item: Item) -> None:
        """The caller gave up (timeout, cancellation): a queued item never runs; a running one finishes."""
        if item.timer is not None:
            item.timer.cancel()
        if not item.started and not item.abandoned:
            item.abandoned = True
            self._queued -= 1

    def _expire(self, item: Item) -> None:
        if item.future.done():
            return
        self.abandon(item)
        message = f"no answer within {self._timeout:g} s (request_timeout_seconds)"
        item.future.set_result(ScheduledResult(error=RequestTimeoutError(message)))

    def _dispatch(self) -> None:
        pending = self._pending
        while self._idle and self._queued:
            while pending[0].abandoned:
                pending.popleft()
            if self._queued < self._batch_size and self._batch_timeout > 0:
                deadline = pending[0].arrived + self._batch_timeout
                if deadline > self._loop.time():
                    if self._timer is None:
                        self._timer = self._loop.call_at(deadline, self._on_timer)
                    return
            batch: list[Item] = []
            while pending and len(batch) < self._batch_size:
                item = pending.popleft()
                if not item.abandoned:
                    item.started = True
                    batch.append(item)
            self._queued -= len(batch)
            self._running += len(batch)
            self._idle -= 1
            completion = _Completion(self, batch, self.meter.clock())  # service time starts here: dequeued
            self._lanes.run(self._call, [item.payload for item in batch], completion)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def _finish(self, batch: list[Item], started: float, value: Any, error: BaseException | None) -> None:
        self.meter.served(len(batch), self.meter.clock() - started)  # every request of a batch waited for all of it
        self._running -= len(batch)
        self._idle += 1
        for item, outcome in zip(batch, self._outcomes(len(batch), value, error), strict=True):
            if item.timer is not None:
                item.timer.cancel()
            if not item.future.done():  # done: its caller timed out or went away
                item.future.set_result(outcome)
        self._dispatch()

    @staticmethod
    def _outcomes(count: int, value: Any, error: BaseException | None) -> list[ScheduledResult]:
        """Fan a call's result out: an ``Exception`` in the returned list fails only its own request."""
        if error is None and (not isinstance(value, list) or len(value) != count):
            returned = len(value) if isinstance(value, list) else type(value).__name__
            error = PredictorOutputError(f"predict_batch returned {returned} results for {count} requests")
        if error is not None:
            return [ScheduledResult(error=error)] * count
        return [
            ScheduledResult(error=result) if isinstance(result, Exception) else ScheduledResult(value=result)
            for result in value
        ]


class _Completion:
    """The ``done`` callback of one batch (a class, not a closure, so the hot path allocates one object)."""

    __slots__ = ("batch", "scheduler", "started")

    def __init__(self, scheduler: Scheduler, batch: list[Item], started: float) -> None:
        self.scheduler = scheduler
        self.batch = batch
        self.started = started

    def __call__(self, value: Any, error: BaseException | None) -> None:
        self.scheduler._finish(self.batch, self.started, value, error)
