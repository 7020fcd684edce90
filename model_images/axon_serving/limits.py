"""Connection limits uvicorn lacks: header and body read timeouts, a connection cap, a header size cap.

uvicorn's own ``timeout_keep_alive`` only runs between requests, and is cancelled by the first byte of the next
one; a new connection that sends nothing, or a request that trickles its headers or body, was held forever
(300 idle sockets held for over 100 s). ``limit_concurrency`` answers 503 only once a request's headers are
complete, so sockets that never finish their headers are never refused. :class:`GuardedProtocol` is uvicorn's
httptools protocol with those gaps closed, in the way Go's ``net/http`` and nginx close them:

- headers: from accept (first request) or from the first byte (later requests) until the end of the headers,
  at most ``header_timeout``; then 408 if any of the request arrived, else a silent close (an idle connection
  the client may be about to reuse must not get a response to a request it has not sent);
- body: at most ``body_timeout`` from the end of the headers, plus one second per ``BODY_MIN_RATE`` bytes
  received, so a large body at a modest rate always fits and a trickle cannot last; then 408;
- idle between requests: uvicorn's ``timeout_keep_alive`` (``keep_alive_timeout``);
- at most ``max_connections`` open connections per process: one more gets 503 and is closed when accepted.
"""

from __future__ import annotations

import asyncio
import http
import resource
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from axon.spec import ServingSpec
from axon_serving.errors import HeadersTooLargeError, ReadTimeoutError, ServingError, TooManyConnectionsError
from axon_serving.protocol import error_reply

HEADER_TIMEOUT = 10.0  # SageMaker and the ALB send a request's headers in one write; 10 s is Go's usual bound
BODY_TIMEOUT = 60.0  # SageMaker's invocation timeout: 6 MB in 60 s is 100 KB/s, far below any AWS link
BODY_MIN_RATE = 64 * 1024  # bytes/s that extend the body allowance: larger bodies get time to arrive
KEEP_ALIVE_TIMEOUT = 75.0  # above the ALB's 60 s idle timeout, so the proxy closes first (no 502s)
MAX_CONNECTIONS = 1000  # per process; well above default capacity (max_concurrency + max_queue_length = 101)
MAX_HEADER_BYTES = 64 * 1024  # request line + headers; httptools itself buffers a header without bound
_FD_RESERVE = 64  # descriptors besides connections: the listening socket, logs, model files, lane threads


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    max_header_bytes: int = MAX_HEADER_BYTES
    body_min_rate: int = BODY_MIN_RATE


class LimitedConfig(uvicorn.Config):
    """uvicorn's config carrying axon's limits to every connection's protocol."""

    def __init__(self, app: Any, limits: Limits, **kwargs: Any) -> None:
        kwargs.setdefault("http", GuardedProtocol)
        keep_alive: Any = limits.keep_alive_timeout  # uvicorn annotates int; a float works (call_later)
        super().__init__(app, timeout_keep_alive=keep_alive, **kwargs)
        self.limits = limits


def raw_reply(error: ServingError) -> bytes:
    """The whole HTTP response for an error sent outside any request cycle, always closing the connection."""
    reply = error_reply(error)
    head = [
        f"HTTP/1.1 {reply.status} {http.HTTPStatus(reply.status).phrase}",
        f"content-type: {reply.content_type}",
        f"content-length: {len(reply.body)}",
        "connection: close",
    ]
    if reply.retry_after is not None:
        head.append(f"retry-after: {reply.retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body


class GuardedProtocol(HttpToolsProtocol):
    """One connection: uvicorn's protocol with read deadlines, a header size cap and the connection cap."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = config.limits if isinstance(config, LimitedConfig) else Limits()
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._in_headers = False  # a request has begun and its headers are not complete
        self._header_bytes = 0
        self._body_deadline = 0.0  # loop time, before the extension for bytes received
        self._body_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._close_with(raw_reply(TooManyConnectionsError("too many connections; retry")))
            return
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        began_in_headers = self._in_headers or self._idle()
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_headers or self._idle():  # waiting for headers (or bytes that started none, e.g. CRLFs)
            if began_in_headers:
                self._header_bytes += len(data)
                if self._header_bytes > self.limits.max_header_bytes:
                    limit = self.limits.max_header_bytes
                    self._close_with(raw_reply(HeadersTooLargeError(f"request headers over {limit} bytes")))
                    return
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timeout)
        elif self._reading_body() and self._body_timer is None:
            self._arm_body_timer(self.limits.body_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._in_headers, self._header_bytes, self._body_bytes = False, 0, 0
        self._body_deadline = self.loop.time() + self.limits.body_timeout
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_body_timer()
        super().on_message_complete()

    def _idle(self) -> bool:
        """Between requests: no request has begun since the last response (or since accept)."""
        return self.cycle is None or self.cycle.response_complete

    def _reading_body(self) -> bool:
        cycle = self.cycle
        return cycle is not None and cycle.more_body and not cycle.response_complete

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._in_headers:
            timeout = self.limits.header_timeout
            self._close_with(raw_reply(ReadTimeoutError(f"request headers not received within {timeout:g} s")))
        else:  # nothing of a request arrived: close as an idle keep-alive connection closes
            self.transport.close()

    def _arm_body_timer(self, delay: float) -> None:
        self._body_timer = self.loop.call_later(max(delay, 0.0), self._body_timeout)

    def _body_timeout(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or not self._reading_body():
            return
        if any(queued is self.cycle for queued, _ in self.pipeline):  # waiting behind a pipelined request:
            self._body_deadline = self.loop.time() + self.limits.body_timeout  # we are not reading, not the client
            self._arm_body_timer(self.limits.body_timeout)
            return
        left = self._body_deadline + self._body_bytes / self.limits.body_min_rate - self.loop.time()
        if left > 0:
            self._arm_body_timer(left)
            return
        if self.cycle.response_started:
            self.transport.close()
        else:
            message = f"request body not received in time ({self.limits.body_timeout:g} s + 1 s per "
            self._close_with(raw_reply(ReadTimeoutError(f"{message}{self.limits.body_min_rate} bytes)")))

    def _close_with(self, response: bytes) -> None:
        """Write a complete response and close; the request's app task, if any, sees a disconnect."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(response)
        self.transport.close()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


def capacity_warning(serving: ServingSpec, limits: Limits) -> str | None:
    """Set when the cap, not ``serving``'s queue, would be what refuses requests first (each needs a connection)."""
    capacity = serving.max_concurrency * serving.max_batch_size + serving.max_queue_length
    if capacity < limits.max_connections:
        return None
    return (
        f"--max-connections {limits.max_connections} is not above the {capacity} requests serving admits "
        f"(max_concurrency x max_batch_size + max_queue_length): connections will be refused before the queue fills"
    )


def ensure_descriptors(limits: Limits) -> None:
    """Raise the soft open-file limit towards the hard one so the cap, not EMFILE, bounds connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + _FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
