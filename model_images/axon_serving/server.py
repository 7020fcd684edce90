"""The HTTP layer: a raw ASGI app with a three-route table (``/ping``, ``/invocations``, ``/metrics``).

No framework: on a trivial predictor routing and middleware would cost more than everything else axon
adds (see bench/serving/RESULTS.md). HTTP details live here; what an invocation means lives in the runtime.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from axon_serving.errors import (
    ClientDisconnectedError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    ServingError,
)
from axon_serving.lifecycle import Lifecycle
from axon_serving.metrics import Stats, render_prometheus
from axon_serving.protocol import Invocation, Reply, error_reply
from axon_serving.runtime import Runtime, State
from axon_serving.streaming import StreamReply, send_stream

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
_READY = Reply(200, b'{"status":"ready"}', "application/json")
_HEADER_CACHE: dict[str, bytes] = {}


class App:
    """ASGI entry point for one process; ``labels`` tag ``/metrics`` series (api, variant, worker)."""

    def __init__(self, runtime: Runtime, stats: Stats, lifecycle: Lifecycle, labels: dict[str, str]) -> None:
        self.runtime = runtime
        self.stats = stats
        self.lifecycle = lifecycle
        self.labels = labels

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            route = ROUTES.get(scope["path"])
            reply: Reply | StreamReply
            if route is None:
                reply = error_reply(NotFoundError(f"no route {scope['path']}; use /ping, /invocations, /metrics"))
            elif scope["method"] != route[0]:
                reply = error_reply(MethodNotAllowedError(f"{scope['path']} takes {route[0]}"))
            else:
                reply = await route[1](self, scope, receive)
            if type(reply) is Reply:
                await _send(send, reply)
            elif isinstance(reply, StreamReply):
                status = await send_stream(reply, send, receive)
                self.stats.observe(status, time.perf_counter() - reply.started)
        elif kind == "lifespan":
            await self.lifecycle.lifespan(receive, send)

    async def ping(self, scope: Scope, receive: Receive) -> Reply:
        if self.runtime.state is State.READY:
            return _READY
        return Reply(503, b'{"status":"%s"}' % self.runtime.state.value.encode(), "application/json", 1)

    async def invocations(self, scope: Scope, receive: Receive) -> Reply | StreamReply:
        started = time.perf_counter()
        content_type = accept = sagemaker_accept = None
        declared = -1
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"x-amzn-sagemaker-accept":  # InvokeEndpointWithResponseStream's name for Accept
                sagemaker_accept = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        try:
            body = await _read_body(receive, declared, self.runtime.serving.max_request_bytes)
        except ServingError as error:
            reply: Reply | StreamReply = error_reply(error)
        else:
            reply = await self.runtime.invoke(Invocation(body, content_type, sagemaker_accept or accept))
        if isinstance(reply, StreamReply):
            reply.started = started  # counted once the stream ends (App.__call__)
        else:
            self.stats.observe(reply.status, time.perf_counter() - started)
        return reply

    async def metrics(self, scope: Scope, receive: Receive) -> Reply:
        body = render_prometheus(self.stats, self.runtime.in_flight, self.lifecycle.window.last, self.labels)
        return Reply(200, body, PROMETHEUS)


ROUTES: dict[str, tuple[str, Callable[[App, Scope, Receive], Awaitable[Reply | StreamReply]]]] = {
    "/ping": ("GET", App.ping),
    "/invocations": ("POST", App.invocations),
    "/metrics": ("GET", App.metrics),
}


async def _read_body(receive: Receive, declared: int, limit: int) -> bytes:
    """The whole body, refusing (413) past ``limit`` by ``Content-Length`` first, then as chunks arrive.

    A disconnect (the client left, or ``limits.py`` timed the body out) raises: a truncated body must never
    reach the predictor.
    """
    if declared > limit:
        raise PayloadTooLargeError(f"body of {declared} bytes exceeds max_request_bytes ({limit})")
    message = await receive()
    body: bytes = _chunk(message)
    if not message.get("more_body"):
        return body
    chunks, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = _chunk(message)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body exceeds max_request_bytes ({limit})")
        chunks.append(chunk)
    return b"".join(chunks)


def _chunk(message: dict[str, Any]) -> bytes:
    if message["type"] == "http.disconnect":
        raise ClientDisconnectedError("the connection closed before the request body was complete")
    body: bytes = message.get("body", b"")
    return body


def _content_type_header(content_type: str) -> bytes:
    cached = _HEADER_CACHE.get(content_type)
    if cached is None:
        cached = _HEADER_CACHE.setdefault(content_type, content_type.encode("latin-1"))
    return cached


async def _send(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", _content_type_header(reply.content_type)),
        (b"content-length", b"%d" % len(reply.body)),
    ]
    if reply.retry_after is not None:
        headers.append((b"retry-after", b"%d" % reply.retry_after))
    if reply.status == 413:  # the unread rest of the body would be parsed as the next request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
