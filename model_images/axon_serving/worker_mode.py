"""``axon-serve`` in worker mode (an ECS async API: ``AXON_ASYNC_QUEUE_URL`` set): the model server plus a poller.

The model server runs as today, in a child process bound to ``127.0.0.1`` (the container health check's ``/ping``
still works, and nothing outside the task can reach ``/invocations``); this process polls the API's queue
(:mod:`axon_serving.queue_worker`) and calls the child's ``/invocations``.

Stopping is ordered, because the poller needs the server until its last request is written: the child leads its
own session, so a SIGTERM to this process's group (ECS stopping the task, the local fleet stopping a replica)
reaches the poller only. The poller stops receiving, finishes what it holds (``AXON_ASYNC_DRAIN_SECONDS``, default
the server's drain), then SIGTERMs the child and exits with 0. A child that exits by itself (the model failed to
load: 2 or 3) ends the poller, which exits with the child's code. If this process dies without that (SIGKILL),
the child sees its end of a pipe close and stops itself, so no server is left behind.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from axon import names

if TYPE_CHECKING:
    from axon_serving.cli import ServeOptions
    from axon_serving.queue_worker import QueueWorker

logger = logging.getLogger("axon_serving")
_LOCALHOST = "127.0.0.1"
_INVOKE_MARGIN_SECONDS = 30.0  # beyond serving.request_timeout_seconds, after which the server answers 504 itself


def enabled(env: os._Environ[str] | dict[str, str]) -> bool:
    return bool(env.get(names.ASYNC_QUEUE_URL_ENV))


def serve_worker(options: ServeOptions, serve_http: Callable[[ServeOptions], int]) -> int:
    """Fork the model server, poll the queue in this process, stop in order; the exit code as ``serve``'s."""
    options = replace(options, host=_LOCALHOST)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the model server: never returns into the poller's code
        served = 1
        try:
            os.close(write_end)
            os.setsid()
            _stop_when_parent_dies(read_end)
            served = serve_http(options)
        finally:
            os._exit(served)
    os.close(read_end)
    stop = threading.Event()

    def on_signal(sig: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    code: int | None = None
    try:
        code = _poll_until_stopped(options, child, stop)
    finally:
        if code is None:  # the poller is done with the server: it drains (nothing is in flight) and stops
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
            code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        os.close(write_end)
    return code


def _stop_when_parent_dies(read_end: int) -> None:
    """The pipe's other end closes when the poller exits, however it exits: then drain and stop as on SIGTERM."""

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(read_end, 1):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="axon-parent-watch", daemon=True).start()


def _child_exit(child: int) -> int | None:
    pid, status = os.waitpid(child, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if pid == child else None


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection(_LOCALHOST, port, timeout=2)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _poll_until_stopped(options: ServeOptions, child: int, stop: threading.Event) -> int | None:
    """Wait for the model to load, then poll until a signal (``None``) or the child's exit (its code)."""
    while not stop.is_set() and not _ready(options.port):
        code = _child_exit(child)
        if code is not None:
            return code
        stop.wait(0.2)
    if stop.is_set():
        return None
    worker = _build_worker(options)
    drain = float(os.environ.get(names.ASYNC_DRAIN_ENV, options.drain_seconds))
    thread = threading.Thread(target=worker.run, args=(stop, drain), name="axon-queue-poller")
    thread.start()
    logger.info("worker mode: polling %s, %d at a time", worker.settings.queue_url, worker.settings.max_concurrency)
    exited: int | None = None
    while thread.is_alive() and exited is None:
        exited = _child_exit(child)
        if exited is not None:  # the server died: nothing held can be answered, SQS delivers it again
            stop.set()
        thread.join(0.2)
    thread.join()
    return exited


def _build_worker(options: ServeOptions) -> QueueWorker:
    import boto3

    from axon_serving.loader import read_spec
    from axon_serving.queue_worker import QueueWorker, WorkerSettings, http_invoker

    spec = read_spec(options.model_dir)  # the child fetched the bundle before it answered /ping
    settings = WorkerSettings.from_env(
        os.environ, spec.max_concurrent_invocations_per_instance, spec.serving.max_request_bytes
    )
    session = boto3.session.Session(region_name=settings.region)
    return QueueWorker(
        settings,
        session.client("sqs"),
        session.client("s3"),
        session.client("sns"),
        http_invoker(options.port, spec.serving.request_timeout_seconds + _INVOKE_MARGIN_SECONDS),
        cloudwatch=session.client("cloudwatch"),
    )
