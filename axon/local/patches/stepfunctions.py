"""Patch 6: Step Functions ``Wait`` states and ``Retry`` back-off last ``seconds * wait_scale``.

Gap: moto's interpreter sleeps in real time, so a 15 s bake takes 15 s and a test with a one-hour ``Wait`` never
ends. Fix: ``WaitFunction._wait_interval`` (it serves ``Seconds``, ``SecondsPath``, ``Timestamp`` and
``TimestampPath``) waits the scaled time, still on the execution's ``program_state_event`` so that StopExecution
ends the wait as before; the ``time`` name in moto's ``retrier_decl`` (used only for ``time.sleep(interval)``)
becomes a clock that sleeps the scaled interval. Faithful: states, retry counts, ``MaxAttempts``, ``BackoffRate``
arithmetic and history events are moto's; only the time between them changes. With ``wait_scale == 1.0`` moto
is left untouched (real time, as on AWS).
"""

from __future__ import annotations

import time
from typing import Any

from axon.local.patches import _registry


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    scale = _registry.options.wait_scale
    if scale == 1.0:
        return
    _registry.patch(WaitFunction, "_wait_interval", _scaled_wait_interval)
    _registry.patch(retrier_decl, "time", _ScaledClock(scale))


class _ScaledClock:
    """Stands in for the ``time`` module inside moto's retrier, whose only use is ``time.sleep(interval)``."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        if seconds * self.scale > 0:
            time.sleep(seconds * self.scale)


def _scaled_wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    """Replaces ``WaitFunction._wait_interval``: wait ``wait_seconds * wait_scale``, unless the execution ends."""
    deadline = time.monotonic() + wait_seconds * _registry.options.wait_scale
    while (remaining := deadline - time.monotonic()) > 0 and env.is_running():
        env.program_state_event.wait(remaining)
