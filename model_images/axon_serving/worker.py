"""One serving process: build the app for a model dir and run it on uvicorn (uvloop + httptools).

SIGTERM/SIGINT start a drain: ``/ping`` turns 503, uvicorn stops accepting, admitted requests finish
within the grace period, and the process exits 0 (uvicorn's own handler would re-raise the signal). A model that
fails to load stops the server with :data:`LOAD_FAILED_EXIT_CODE`: the platform sees a replica that exited, not
one that answers ``/ping`` 503 until a health-check timeout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn

from axon.spec import ApiSpec
from axon_serving.devices import WORKER_ENV
from axon_serving.emf import publisher_for
from axon_serving.errors import announce_load_failure
from axon_serving.lifecycle import Lifecycle
from axon_serving.limits import LimitedConfig, Limits, ensure_descriptors
from axon_serving.metrics import Stats
from axon_serving.runtime import Runtime, State
from axon_serving.server import App

API_ENV = "AXON_API"
VARIANT_ENV = "AXON_VARIANT"
LOAD_FAILED_EXIT_CODE = 3


def build_app(model_dir: Path, spec: ApiSpec, env: dict[str, str] | os._Environ[str]) -> App:
    """The ASGI app of one process; EMF publishing is on when the platform set ``AXON_API``."""
    api, variant = env.get(API_ENV), env.get(VARIANT_ENV, "local")
    labels = {"api": api or "", "variant": variant, "worker": env.get(WORKER_ENV, "0")}
    runtime, stats = Runtime(spec.serving), Stats()
    lifecycle = Lifecycle(runtime, stats, model_dir, spec, publisher_for(env))
    return App(runtime, stats, lifecycle, labels)


class DrainingServer(uvicorn.Server):
    """uvicorn, with the runtime told about a shutdown the moment the signal arrives."""

    def __init__(self, config: uvicorn.Config, app: App) -> None:
        super().__init__(config)
        self.axon_app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.axon_app.runtime.drain()
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Checked every 0.1 s: a failed model load ends the server as a signal would."""
        if self.axon_app.runtime.state is State.FAILED:
            return True
        return await super().on_tick(counter)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def server_config(app: App, limits: Limits, drain_seconds: int, log_level: str, loop: str = "uvloop") -> LimitedConfig:
    """uvicorn on uvloop and httptools, with axon's connection limits (``limits.py``)."""
    return LimitedConfig(
        app,
        limits,
        loop=loop,
        ws="none",  # no WebSocket routes: an upgrade is served as a plain request, under the same limits
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=drain_seconds,
        log_level=log_level,
    )


def run_worker(app: App, sock: socket.socket, drain_seconds: int, log_level: str, limits: Limits | None = None) -> int:
    """Serve on an already bound socket until a signal (0 after a clean drain) or a failed model load."""
    limits = limits or Limits()
    ensure_descriptors(limits)
    server = DrainingServer(server_config(app, limits, drain_seconds, log_level), app)
    server.run(sockets=[sock])
    if app.runtime.state is State.FAILED:
        announce_load_failure(app.runtime.reason)
        return LOAD_FAILED_EXIT_CODE
    return 0 if server.started else 1


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound once and shared by every worker (one accept queue, no reuseport skew)."""
    config = uvicorn.Config(app=None, host=host, port=port)  # type: ignore[arg-type]
    sock = config.bind_socket()
    sock.set_inheritable(True)
    return sock
