"""The scheduler's accounting with a hand-driven lane: capacity, abandonment, batch timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from axon_serving.errors import QueueFullError
from axon_serving.lanes import AdaptiveLanes, Done, Lanes, LoopLanes
from axon_serving.protocol import ScheduledResult
from axon_serving.scheduler import Scheduler, Strategy


class HeldLanes(Lanes):
    """Records calls and finishes them only when the test says so."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[[Any], Any], Any, Done]] = []

    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        self.calls.append((call, argument, done))

    def finish(self, index: int = 0) -> None:
        call, argument, done = self.calls.pop(index)
        done(call(argument), None)

    def close(self) -> None:
        self.calls.clear()


def _scheduler(lanes: Lanes, batch_size: int = 1, **options: Any) -> Scheduler:
    settings = {"concurrency": 1, "batch_timeout": 0.0, "queue_length": 2, "timeout": 60.0, **options}
    plan = Strategy(lambda payloads: list(payloads), False, batch_size)
    return Scheduler(plan, lanes, loop=asyncio.get_running_loop(), **settings)


def test_capacity_is_running_plus_queue_and_abandoned_items_never_run() -> None:
    async def scenario() -> None:
        lanes = HeldLanes()
        scheduler = _scheduler(lanes)
        items = [scheduler.submit(n) for n in range(3)]
        assert scheduler.in_flight == 3 and len(lanes.calls) == 1
        with pytest.raises(QueueFullError):
            scheduler.submit(3)
        scheduler.abandon(items[1])
        scheduler.abandon(items[1])  # twice is once
        assert scheduler.in_flight == 2
        lanes.finish()
        assert (await items[0].future).value == 0
        assert lanes.calls[0][1] == [2]  # item 1 was skipped
        lanes.finish()
        assert (await items[2].future).value == 2 and scheduler.in_flight == 0

    asyncio.run(scenario())


def test_abandoning_a_running_item_keeps_it_counted_until_it_finishes() -> None:
    async def scenario() -> None:
        lanes = HeldLanes()
        scheduler = _scheduler(lanes)
        item = scheduler.submit("x")
        item.future.cancel()
        scheduler.abandon(item)
        assert scheduler.in_flight == 1  # still in the predictor
        lanes.finish()
        assert scheduler.in_flight == 0

    asyncio.run(scenario())


def test_batch_waits_for_its_timeout_unless_full() -> None:
    async def scenario() -> None:
        lanes = HeldLanes()
        scheduler = _scheduler(lanes, batch_size=3, batch_timeout=0.05)
        first = scheduler.submit("a")
        assert lanes.calls == []  # waiting for company
        await asyncio.sleep(0.2)
        assert lanes.calls[0][1] == ["a"]
        lanes.finish()
        assert (await first.future).value == "a"
        full = [scheduler.submit(n) for n in range(3)]
        assert lanes.calls[0][1] == [0, 1, 2]  # full: no wait
        lanes.finish()
        assert [(await item.future).value for item in full] == [0, 1, 2]

    asyncio.run(scenario())


def test_a_raising_call_fails_every_item_of_its_batch() -> None:
    async def scenario() -> None:
        lanes = HeldLanes()
        scheduler = _scheduler(lanes, batch_size=2, batch_timeout=1.0)
        items = [scheduler.submit(n) for n in range(2)]
        _, _, done = lanes.calls.pop()
        done(None, RuntimeError("device lost"))
        errors = [(await item.future).error for item in items]
        assert all(isinstance(error, RuntimeError) for error in errors)
        assert scheduler.in_flight == 0

    asyncio.run(scenario())


def test_loop_lanes_report_results_errors_and_cancellation() -> None:
    async def scenario() -> list[tuple[Any, str | None]]:
        lanes, seen = LoopLanes(asyncio.get_running_loop()), []
        finished = asyncio.Event()

        def done(value: Any, error: BaseException | None) -> None:
            seen.append((value, type(error).__name__ if error else None))
            if len(seen) == 3:
                finished.set()

        async def ok(x: int) -> int:
            return x + 1

        async def boom(x: int) -> int:
            raise KeyError(x)

        async def forever(x: int) -> int:
            await asyncio.sleep(3600)
            return x

        lanes.run(ok, 1, done)
        lanes.run(boom, 2, done)
        lanes.run(forever, 3, done)
        await asyncio.sleep(0)
        for task in list(lanes._tasks):
            if not task.done():
                task.cancel()
        await asyncio.wait_for(finished.wait(), 10)
        return seen

    assert sorted(asyncio.run(scenario()), key=str) == sorted(
        [(2, None), (None, "KeyError"), (None, "CancelledError")], key=str
    )


def test_adaptive_lanes_go_inline_after_short_calls_and_back_after_a_slow_one() -> None:
    async def scenario() -> None:
        lanes = AdaptiveLanes(asyncio.get_running_loop(), 1)
        results: list[Any] = []
        for n in range(32):  # probation: on the thread, each call timed
            finished = asyncio.Event()
            lanes.run(lambda x: x * 2, n, lambda value, error, done=finished: (results.append(value), done.set()))
            await asyncio.wait_for(finished.wait(), 30)
        assert lanes.inline and results == [n * 2 for n in range(32)]
        assert lanes.call_now(lambda x: 1 / x, 0)[1].__class__ is ZeroDivisionError
        assert lanes.inline  # a quick raise is still a quick call
        lanes.call_now(lambda seconds: time.sleep(seconds), 0.01)  # slower than the 1 ms budget
        assert not lanes.inline
        lanes.close()

    asyncio.run(scenario())


def test_fast_path_runs_only_when_inline_idle_and_nobody_waits() -> None:
    async def scenario() -> None:
        class InlineLanes(HeldLanes):
            inline = True

            def call_now(self, call: Callable[[Any], Any], argument: Any) -> tuple[Any, BaseException | None]:
                try:
                    return call(argument), None
                except Exception as error:
                    return None, error

        lanes = InlineLanes()
        plan = Strategy(lambda payloads: list(payloads), False, 1, single=lambda x: 10 / x)
        scheduler = Scheduler(
            plan, lanes, loop=asyncio.get_running_loop(), concurrency=1, batch_timeout=0, queue_length=5, timeout=60
        )
        assert scheduler.try_now(5) == ScheduledResult(value=2.0)
        assert isinstance(scheduler.try_now(0).error, ZeroDivisionError)  # type: ignore[union-attr]
        held = scheduler.submit(1)  # occupies the only lane (HeldLanes.run holds it)
        assert scheduler.try_now(1) is None
        lanes.finish()
        assert (await held.future).value == [1][0]
        lanes.inline = False
        assert scheduler.try_now(1) is None

    asyncio.run(scenario())


def test_a_queued_request_past_its_timeout_gets_504_and_never_runs() -> None:
    async def scenario() -> None:
        lanes = HeldLanes()
        scheduler = _scheduler(lanes, timeout=0.05)
        running, queued = scheduler.submit("a"), scheduler.submit("b")
        outcomes = [await running.future, await queued.future]
        assert [type(o.error).__name__ for o in outcomes] == ["RequestTimeoutError", "RequestTimeoutError"]
        assert scheduler.in_flight == 1  # "a" is still in the predictor
        lanes.finish()
        assert scheduler.in_flight == 0 and lanes.calls == []  # "b" was dropped, not run

    asyncio.run(scenario())
