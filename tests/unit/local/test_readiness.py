"""The front door's readiness gate: requests wait for set_ready, for a bounded time, and closing lets them go."""

from __future__ import annotations

import asyncio
import threading
import time

from axon_local.frontdoor import Readiness


def test_without_a_hold_the_door_is_ready_at_once() -> None:
    assert asyncio.run(Readiness(None).wait())


def test_a_held_request_goes_on_when_another_thread_sets_ready() -> None:
    readiness = Readiness(30)
    threading.Timer(0.2, readiness.set_ready).start()
    started = time.monotonic()
    assert asyncio.run(readiness.wait())
    assert 0.15 < time.monotonic() - started < 5


def test_the_hold_runs_out_and_closing_ends_it_early() -> None:
    started = time.monotonic()
    assert not asyncio.run(Readiness(0.2).wait())
    assert time.monotonic() - started < 5
    closing = Readiness(30)
    threading.Timer(0.1, closing.close).start()
    assert not asyncio.run(closing.wait())
    assert time.monotonic() - started < 5


def test_held_requests_are_bounded() -> None:
    async def many() -> list[bool]:
        readiness = Readiness(30)
        asyncio.get_running_loop().call_later(0.3, readiness.set_ready)
        return await asyncio.gather(*(readiness.wait() for _ in range(300)))

    answers = asyncio.run(many())
    assert answers.count(True) == 256 and answers.count(False) == 44  # past 256 held: refused at once
