"""Process lifecycle: load the model off the loop after the socket is up, sample in-flight every second,
publish each closed window, and publish the last partial window at shutdown. A model that cannot load is
logged with its traceback; the server then exits non-zero (``worker.run_worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from axon.spec import ApiSpec
from axon_serving.emf import emf_record
from axon_serving.errors import PredictorLoadError
from axon_serving.loader import load_handler
from axon_serving.metrics import InFlightWindow, Stats, Window
from axon_serving.runtime import Runtime

logger = logging.getLogger("axon_serving")
Publish = Callable[[Window], None]


class StdoutPublisher:
    """EMF lines on stdout, where the platform's log agent picks them up (logs go to stderr)."""

    def __init__(self, api: str, variant: str) -> None:
        self.api = api
        self.variant = variant

    def __call__(self, window: Window) -> None:
        sys.stdout.buffer.write(emf_record(window, self.api, self.variant))
        sys.stdout.flush()


class Lifecycle:
    """Handles ASGI ``lifespan`` for one process."""

    def __init__(
        self,
        runtime: Runtime,
        stats: Stats,
        model_dir: Path,
        spec: ApiSpec,
        publish: Publish | None,
        window: InFlightWindow | None = None,
    ) -> None:
        self.runtime = runtime
        self.stats = stats
        self.model_dir = model_dir
        self.spec = spec
        self.publish = publish
        self.window = window or InFlightWindow()
        self._sampler: asyncio.Task[None] | None = None
        self.loaded = asyncio.Event()

    async def lifespan(self, receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def startup(self) -> None:
        """Returns at once: the socket answers ``/ping`` 503 while ``__init__`` runs in a thread."""
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._load, args=(loop,), name="axon-load", daemon=True).start()
        self._sampler = loop.create_task(self._sample_forever())

    def _load(self, loop: asyncio.AbstractEventLoop) -> None:
        started = time.perf_counter()
        try:
            handler = load_handler(self.model_dir, self.spec)
        except PredictorLoadError as error:
            # The user's traceback, when their code raised; the loader's own frames would only bury it.
            logger.error("model load failed: %s", error.message, exc_info=error.__cause__)
            reason = error.message
            loop.call_soon_threadsafe(self._settle, lambda: self.runtime.fail(reason))
            return
        logger.info("model loaded in %.2f s from %s", time.perf_counter() - started, self.model_dir)
        loop.call_soon_threadsafe(self._settle, lambda: self.runtime.attach(handler, loop))

    def _settle(self, apply: Callable[[], None]) -> None:
        apply()
        self.loaded.set()

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(1 - time.time() % 1)  # on whole seconds, as every other process samples
            self.sample(time.time())

    def sample(self, now: float) -> None:
        window = self.window.sample(now, self.runtime.in_flight, self.stats, self.runtime.meter)
        if window is not None and self.publish is not None:
            self.publish(window)

    async def shutdown(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        window = self.window.close(self.stats, self.runtime.meter)
        if window is not None and self.publish is not None:
            self.publish(window)
        self.runtime.close()
