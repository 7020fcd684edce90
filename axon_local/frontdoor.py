"""The local stack's single port: sagemaker-runtime, the local SageMaker, and moto for every other AWS API.

One ASGI app on uvicorn dispatches each request:

* ``POST /endpoints/<name>/invocations`` -> the router (async: the fast path never touches a thread pool), and
  ``.../invocations-response-stream`` the same, answered as an event stream as the replica's body arrives; on an
  endpoint whose config has ``AsyncInferenceConfig`` both are refused (``ValidationError``), as SageMaker does;
* ``X-Amz-Target: SageMaker.<Op>`` for an emulated operation -> the local SageMaker (on a worker thread);
* ``GET /_axon/stats[?endpoint=<name>]`` -> per-variant request statistics for ``axon get``;
* ``/apis/<api>/...`` without a SigV4 signature -> the local ALB of ECS APIs, once one is attached
  (:mod:`axon_local.ecs.alb`);
* everything else -> moto's WSGI app (as ``ThreadedMotoServer`` builds it), run in a thread pool by a2wsgi.

Before any of these, on both ports, a request a web page could have sent (a Host that is not loopback, an
``Origin``, a cross-site ``Sec-Fetch-Site``, an AWS call with no SigV4 signature) is refused with the service's
own 403 (:mod:`axon_local.trust`), and the door binds loopback only.

With ``ready_hold_seconds`` set, the public port answers nothing until :meth:`FrontDoor.set_ready`: a client that
connects while the stack is still being provisioned is held (then 503 if the hold runs out), so an upload is never
accepted before the rule, functions and state machine that roll it out exist. The stack provisions itself through
``control_url``, a second, loopback-only port that is never held.

moto's Step Functions interpreter calls AWS at ``http://localhost:$MOTO_PORT``; :func:`serve` sets ``MOTO_PORT``
to this port so executions reach this door (and so the local SageMaker) rather than a bare moto.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import uvicorn
from a2wsgi import WSGIMiddleware
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from axon import aws, names
from axon_local import images, trust
from axon_local.asgi import header_pairs, read_body, respond
from axon_local.dataplane.async_queue import AsyncInvocations, describer
from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.fleet import FleetTimeouts, LocalFleet, ServeCommand, axon_serve_command
from axon_local.dataplane.publisher import InFlightPublisher
from axon_local.dataplane.router import Router
from axon_local.dataplane.runtime import InvokeRequest, InvokeResponse, RuntimeService
from axon_local.dataplane.stats import StatsBook, VariantStats
from axon_local.sagemaker import CloudWatchAlarms, SageMakerEmulator, SageMakerProtocol, SystemClock

_INVOKE_PATH = re.compile(r"^/endpoints/([^/]+)/invocations(-response-stream)?$")
_ASYNC_PATH = re.compile(r"^/endpoints/([^/]+)/async-invocations$")  # InvokeEndpointAsync (async_queue.py)
_READY_POLL_SECONDS = 0.02
_MAX_HELD_REQUESTS = 256  # more wait for no one: they are answered 503 at once
STATS_PATH = names.LOCAL_STATS_PATH
Scope = dict[str, Any]


@dataclass(frozen=True)
class FrontDoorOptions:
    host: str = "127.0.0.1"
    time_scale: float = 1.0  # >1 shortens every SageMaker wait (bakes, termination waits) by that factor
    cache_dir: Path = field(default_factory=images.default_cache_dir)  # bundles, envs, replica logs
    timeouts: FleetTimeouts = field(default_factory=FleetTimeouts)
    serve_command: ServeCommand = axon_serve_command
    publish_in_flight: bool = True
    retry_window_seconds: float = 10.0
    moto_workers: int = 32  # Lambdas run in-process call back into this door, so nested calls need threads
    ready_hold_seconds: float | None = None  # None: answer at once; else hold until set_ready(), then 503


class Readiness:
    """Whether the stack behind the door is wired up; public-port requests wait for it, for a bounded time."""

    def __init__(self, hold_seconds: float | None) -> None:
        self._hold = hold_seconds or 0.0
        self._ready = hold_seconds is None
        self._settled = threading.Event()  # ready, or closing: nothing left to wait for
        self._held = 0  # touched only on the event loop

    def set_ready(self) -> None:
        self._ready = True
        self._settled.set()

    def close(self) -> None:
        """Answer every held request now (503): uvicorn's shutdown waits for them."""
        self._settled.set()

    async def wait(self) -> bool:
        """``True`` once ready; ``False`` when the hold runs out or the door closes first. Polls, so that a
        thread without the event loop can settle it."""
        if self._settled.is_set() or self._held >= _MAX_HELD_REQUESTS:
            return self._ready
        deadline = time.monotonic() + self._hold
        self._held += 1
        try:
            while not self._settled.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(_READY_POLL_SECONDS)
        finally:
            self._held -= 1
        return self._ready


class AlbApp(Protocol):
    """An ASGI app for the requests it claims on this port: the local ALB, which the stack attaches (this module
    does not import `axon_local.ecs`)."""

    def handles(self, path: str, headers: dict[str, str]) -> bool: ...

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None: ...

    async def aclose(self) -> None: ...


class FrontDoorApp:
    """The ASGI dispatcher; holds no state beyond the services it routes to."""

    def __init__(
        self,
        moto: Any,
        sagemaker: SageMakerProtocol,
        runtime: RuntimeService,
        stats: StatsBook,
        readiness: Readiness,
        control_port: int,
    ) -> None:
        self._moto = moto
        self._sagemaker = sagemaker
        self._runtime = runtime
        self._stats = stats
        self._readiness = readiness
        self._control_port = control_port
        self.alb: AlbApp | None = None
        self.async_invocations: AsyncInvocations | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if self.async_invocations is not None:
                        await self.async_invocations.aclose()
                    await self._runtime.aclose()
                    if self.alb is not None:
                        await self.alb.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            # No service here speaks WebSocket, and browsers open WebSockets to any host without asking.
            return await send({"type": "websocket.close", "code": 1008})  # type: ignore[no-any-return]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            return await respond(send, refusal.status, refusal.headers, refusal.body)
        server = scope["server"]
        if server[1] != self._control_port and not await self._readiness.wait():
            body = json.dumps({"message": "the axon local stack is still starting; retry"}).encode()
            return await respond(send, 503, [(b"content-type", b"application/json"), (b"retry-after", b"1")], body)
        match = _INVOKE_PATH.match(scope["path"])
        if match and scope["method"] == "POST" and "/sagemaker/" in headers.get("authorization", "/sagemaker/"):
            if match.group(2):
                return await self._invoke_stream(unquote(match.group(1)), headers, receive, send)
            return await self._invoke(unquote(match.group(1)), headers, receive, send)
        queued = _ASYNC_PATH.match(scope["path"])
        signed_for_sagemaker = "/sagemaker/" in headers.get("authorization", "/sagemaker/")
        if queued and scope["method"] == "POST" and signed_for_sagemaker and self.async_invocations is not None:
            endpoint, body = unquote(queued.group(1)), await read_body(receive)
            status, queued_headers, queued_body = await self.async_invocations.submit(endpoint, headers, body)
            return await respond(send, status, header_pairs(queued_headers), queued_body)
        if self.alb is not None and self.alb.handles(scope["path"], headers):
            return await self.alb(scope, receive, send)
        target = headers.get("x-amz-target")
        if self._sagemaker.handles(target):
            assert target is not None
            body = await read_body(receive)
            answer = await asyncio.to_thread(self._sagemaker.handle, target, body)
            return await respond(send, answer.status, header_pairs(answer.headers), answer.body)
        if scope["path"].startswith(STATS_PATH) and scope["method"] == "GET":
            return await self._serve_stats(unquote(scope["path"][len(STATS_PATH) :].strip("/")), send)
        return await self._moto(scope, receive, send)  # type: ignore[no-any-return]

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> trust.Refusal | None:
        """Refuse, before any service sees it, a request a web page could have sent (:mod:`axon_local.trust`)."""
        path, query, method = scope["path"], scope.get("query_string", b"").decode("latin-1"), scope["method"]
        server = scope.get("server")
        reason = trust.browser_refusal(headers, server[1]) if server else "no listening address (not a TCP request)"
        if reason is not None:
            trust.log_refusal(scope, reason)
            message = f"The axon local stack refused this request: {reason}."
            return trust.access_denied(path, query, headers, message)
        if trust.is_signed(method, query, headers) or self._unsigned_allowed(scope, headers):
            return None
        trust.log_refusal(scope, "no SigV4 signature (AWS clients always sign; browsers cannot)")
        return trust.missing_signature(path, query, headers)

    def _unsigned_allowed(self, scope: Scope, headers: dict[str, str]) -> bool:
        """The unsigned requests this door serves: the local ALB (ALBs take no signature), the statistics
        ``axon get`` reads, and moto's own API on the control port (the stack configures moto through it)."""
        path = scope["path"]
        if path.startswith(STATS_PATH) and scope["method"] in ("GET", "HEAD"):
            return True
        if self.alb is not None and self.alb.handles(path, headers):
            return True
        return bool(scope["server"][1] == self._control_port and path.startswith("/moto-api/"))

    async def _serve_stats(self, endpoint: str, send: Any) -> None:
        """``/_axon/stats``: every variant; ``/_axon/stats/<endpoint>``: ``{"variants": {name: stats}}`` or 404."""
        json_type = {"Content-Type": "application/json"}
        if not endpoint:
            rows = [dataclasses.asdict(s) for s in self._stats.snapshot(None)]
            return await respond(send, 200, header_pairs(json_type), json.dumps(rows).encode())
        variants = {s.variant: dataclasses.asdict(s) for s in self._stats.snapshot(endpoint)}
        if not variants:
            return await respond(
                send, 404, header_pairs(json_type), json.dumps({"message": f"no statistics for {endpoint}"}).encode()
            )
        return await respond(send, 200, header_pairs(json_type), json.dumps({"variants": variants}).encode())

    async def _invoke(self, endpoint: str, headers: dict[str, str], receive: Any, send: Any) -> None:
        request = _invoke_request(endpoint, headers, await read_body(receive), accept=headers.get("accept"))
        answer = self._runtime.asynchronous_refusal(endpoint) or await self._runtime.invoke(request)
        await respond(send, answer.status, header_pairs(answer.headers), answer.body)

    async def _invoke_stream(self, endpoint: str, headers: dict[str, str], receive: Any, send: Any) -> None:
        """InvokeEndpointWithResponseStream: ``Accept`` arrives as ``X-Amzn-SageMaker-Accept`` (the HTTP ``Accept``
        is the SDK's, for the event stream) and goes to the container as its ``Accept``. Events are written as
        they come; a client that leaves stops the stream, which closes the replica's connection."""
        body = await read_body(receive)
        request = _invoke_request(endpoint, headers, body, accept=headers.get("x-amzn-sagemaker-accept"))
        answer = self._runtime.asynchronous_refusal(endpoint) or await self._runtime.invoke_stream(request)
        if isinstance(answer, InvokeResponse):
            return await respond(send, answer.status, header_pairs(answer.headers), answer.body)
        await send({"type": "http.response.start", "status": 200, "headers": header_pairs(answer.headers)})
        relay = asyncio.ensure_future(_relay(answer.events, send))
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((relay, gone), return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if not relay.done():
            relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay


async def _relay(events: AsyncIterator[bytes], send: Any) -> None:
    try:
        async for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await events.aclose()  # type: ignore[attr-defined]  # an async generator: closes the replica's response


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class FrontDoor:
    """A running front door: ``url`` for clients, ``variant_stats`` for ``axon get``, ``close`` to stop it all."""

    def __init__(self, port: int, options: FrontDoorOptions) -> None:
        if not trust.is_loopback_bind(options.host):
            raise ValueError(
                f"the local stack listens on loopback only, not on {options.host!r}: it trusts its callers"
            )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((options.host, port))
        self.port = int(sock.getsockname()[1])
        self.url = f"http://{options.host}:{self.port}"
        control = socket.create_server(("127.0.0.1", 0))
        self.control_url = f"http://127.0.0.1:{control.getsockname()[1]}"
        os.environ["MOTO_PORT"] = str(self.port)
        # The door's own clients use the control port: they may run (the publisher) before the door is ready.
        local = {"endpoint_url": self.control_url, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        self._clock = SystemClock(options.time_scale)
        self.stats = StatsBook()
        self._router = Router(self.stats)
        cache = options.cache_dir
        self.fleet = LocalFleet(
            self._router,
            BundleCache(aws.client("s3", **local), cache / "bundles"),
            lambda image: images.python_for_image(image, cache_dir=cache),
            cache / "logs",
            command=options.serve_command,
            timeouts=options.timeouts,
        )
        self.emulator = SageMakerEmulator(
            self.fleet, CloudWatchAlarms(aws.client("cloudwatch", **local)), self._clock, region=aws.region()
        )
        self._runtime = RuntimeService(
            self._router, region=aws.region(), retry_window_seconds=options.retry_window_seconds
        )
        dispatcher = DomainDispatcherApplication(create_backend_app)
        moto = WSGIMiddleware(dispatcher, workers=options.moto_workers)  # type: ignore[arg-type]  # moto is untyped
        self._readiness = Readiness(options.ready_hold_seconds)
        app = FrontDoorApp(
            moto,
            SageMakerProtocol(self.emulator),
            self._runtime,
            self.stats,
            self._readiness,
            control_port=int(control.getsockname()[1]),
        )
        app.async_invocations = AsyncInvocations(
            self._runtime,
            describer(self.emulator.call),
            aws.client("s3", **local),
            aws.client("sns", **local),
            region=aws.region(),
        )
        self._app = app
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock, control]}, daemon=True, name="axon-frontdoor"
        )
        self._sockets = (sock, control)
        self._publisher = (
            InFlightPublisher(self._router, aws.client("cloudwatch", **local), backlogs=app.async_invocations.backlogs)
            if options.publish_in_flight
            else None
        )

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the front door could not start on {self.url}")
            threading.Event().wait(0.02)
        if self._publisher is not None:
            self._publisher.start()

    def set_ready(self) -> None:
        """The stack is wired up: answer the public port, held requests first."""
        self._readiness.set_ready()

    def variant_stats(self, endpoint: str | None = None) -> list[VariantStats]:
        return self.stats.snapshot(endpoint)

    def attach_alb(self, alb: AlbApp) -> None:
        """Serve ``/apis/<api>/...`` through ``alb`` from now on (the local stack attaches ECS's)."""
        self._app.alb = alb

    def close(self) -> None:
        """Stop waits and holds, delete every endpoint (no replica left running), then stop serving."""
        self._readiness.close()
        self._clock.close()
        self.fleet.close()
        if self._publisher is not None:
            self._publisher.close()
        self.emulator.close()
        self._server.should_exit = True
        self._thread.join()
        for sock in self._sockets:
            sock.close()


def serve(port: int = names.LOCAL_PORT, options: FrontDoorOptions | None = None) -> FrontDoor:
    """Start the front door on ``port`` (0: any free port) and return once it accepts connections (it answers
    them once ready: at once unless ``options.ready_hold_seconds`` is set, then after :meth:`FrontDoor.set_ready`).

    Examples
    --------
    >>> door = serve(0)                  # doctest: +SKIP
    >>> door.url                         # doctest: +SKIP
    'http://127.0.0.1:41234'
    >>> door.close()                     # doctest: +SKIP
    """
    door = FrontDoor(port, options or FrontDoorOptions())
    door.start()
    return door


def _invoke_request(endpoint: str, headers: dict[str, str], body: bytes, *, accept: str | None) -> InvokeRequest:
    """An invocation as the router takes it; ``accept`` comes from a different header per API (see the callers)."""
    return InvokeRequest(
        endpoint=endpoint,
        body=body,
        content_type=headers.get("content-type"),
        accept=accept,
        target_variant=headers.get("x-amzn-sagemaker-target-variant"),
        custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
    )
