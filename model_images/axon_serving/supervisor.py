"""Several workers on one port: fork after binding, forward SIGTERM/SIGINT, exit when all have.

A worker that dies on its own (not after a signal) takes the replica down with exit 1: the platform's
health checks and restart policy replace the whole container, which is simpler to reason about than a
half-sized replica the autoscaler cannot see.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType

from axon_serving.devices import WorkerPlan

logger = logging.getLogger("axon_serving")


class Supervisor:
    def __init__(self, plans: list[WorkerPlan], work: Callable[[WorkerPlan], int]) -> None:
        self.plans = plans
        self.work = work
        self.children: dict[int, WorkerPlan] = {}
        self.stopping = False

    def run(self) -> int:
        for plan in self.plans:
            pid = os.fork()
            if pid == 0:  # child: never returns into the parent's code
                code = 1
                try:
                    os.environ.update(plan.env)
                    code = self.work(plan)
                finally:
                    os._exit(code)
            self.children[pid] = plan
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._forward)
        result = 0
        while self.children:
            pid, status = os.wait()
            if pid not in self.children:  # not ours (a grandchild reparented here): nothing to do
                continue
            plan = self.children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0 or not self.stopping:
                logger.error("worker %d (pid %d) exited with %d; stopping the others", plan.index, pid, code)
                result = 1
                self._stop(signal.SIGTERM)
        return result

    def _forward(self, sig: int, frame: FrameType | None) -> None:
        self._stop(sig)

    def _stop(self, sig: int) -> None:
        self.stopping = True
        for pid in self.children:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
