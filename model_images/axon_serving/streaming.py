"""Streaming predictors: a ``predict`` that ``yield``s is answered with a chunked HTTP response.

SageMaker's container contract for ``InvokeEndpointWithResponseStream`` is an ordinary ``POST /invocations``
answered with ``Transfer-Encoding: chunked``; SageMaker turns each piece into a ``PayloadPart`` event, and a broken
body into a ``ModelStreamError`` (``StreamBroken``). The ALB passes the same chunked body through to ECS clients.

How a stream fits the rest of the runtime:

* it is one scheduler item whose predictor call lasts until the generator ends, so it holds a lane
  (``max_concurrency``) and counts in flight until then, and a queued stream waits like any request;
* the producer (the generator, on a lane thread, or on the loop when it is ``async``) hands chunks over a
  :class:`Channel` with a bounded number of unread chunks (back-pressure: a slow reader pauses the generator);
* ``request_timeout_seconds`` bounds the time to the first chunk (from admission, as for any request: 504) and
  then the idle time between two chunks (the stream is cut);
* the scheduler's own completion (the call returned, raised, or its timer fired) ends the channel, so a stream
  can never outlive its accounting, and a consumer that leaves (client gone, timeout) closes the channel: the
  generator is closed at its next ``yield`` (its ``finally`` blocks run).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from axon_serving.codecs import accept_entries
from axon_serving.errors import (
    ClientDisconnectedError,
    NotAcceptableError,
    PredictorError,
    PredictorOutputError,
    RequestTimeoutError,
    ServingError,
)
from axon_serving.protocol import ScheduledResult
from axon_serving.scheduler import Strategy

JSON_LINES = "application/jsonlines"  # SageMaker's name for JSON Lines (one JSON value per line)
TEXT = "text/plain; charset=utf-8"
OCTET = "application/octet-stream"
STREAM_TYPES: tuple[str, ...] = (JSON_LINES, "text/plain", OCTET)
CAPACITY = 64  # unread chunks before the generator is paused
_BYTES_LIKE = (bytes, bytearray, memoryview)
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
_DATA, _END, _ERROR = 0, 1, 2
logger = logging.getLogger("axon_serving")


@lru_cache(maxsize=256)
def negotiate_stream(accept: str | None) -> str | None:
    """The media type a stream is sent in; ``None``: chosen by the first chunk (:func:`content_type_for`).

    Refused (406) before the predictor runs when ``Accept`` names none of :data:`STREAM_TYPES` nor a wildcard.
    """
    if not accept:
        return None
    for _, media in accept_entries(accept):
        if media == "*/*":
            return None
        if media in (JSON_LINES, "application/x-ndjson", "application/jsonl", "application/*"):
            return JSON_LINES
        if media in ("text/plain", "text/*"):
            return TEXT
        if media == OCTET:
            return OCTET
    raise NotAcceptableError(f"a streaming predictor answers {', '.join(STREAM_TYPES)}; not {accept!r}")


def content_type_for(media: str | None, first: Any) -> str:
    """The response's ``Content-Type``: the negotiated one, else what the first chunk is."""
    if media is not None:
        return media
    if isinstance(first, str):
        return TEXT
    return OCTET if isinstance(first, _BYTES_LIKE) else JSON_LINES


def encode_chunk(item: Any, media: str | None) -> bytes:
    """One yielded item on the wire: ``str`` as UTF-8 and bytes as they are, anything else as one JSON line.

    With ``application/jsonlines`` negotiated every item is a JSON line (a ``str`` becomes a JSON string).
    """
    try:
        if media != JSON_LINES:
            if isinstance(item, str):
                return item.encode()
            if isinstance(item, _BYTES_LIKE):
                return bytes(item)
        return orjson.dumps(item, option=_JSON_OPTIONS)
    except (TypeError, ValueError, UnicodeEncodeError) as error:
        kind = "JSON lines" if media == JSON_LINES else "a stream chunk"
        raise PredictorOutputError(f"a yielded {type(item).__name__} cannot be sent as {kind}: {error}") from None


class StreamTimeoutError(Exception):
    """No chunk within ``request_timeout_seconds`` of the previous one."""


class Channel:
    """Chunks from one producer to one consumer on the event loop, with at most ``capacity`` unread.

    The producer is a lane thread (:meth:`push_from_thread`) or a task on the loop (:meth:`push`). The consumer
    ends the channel's life with :meth:`close` (it left) and learns the end from :meth:`settle`, which the
    scheduler's future calls when the predictor call is over.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int = CAPACITY) -> None:
        self._loop = loop
        self._events: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        self._thread_credits = threading.Semaphore(capacity)
        self._loop_credits = asyncio.Semaphore(capacity)
        self._threaded = False
        self._held: tuple[int, Any] | None = None  # an end or error event :meth:`ready` took out of turn
        self.closed = False  # the consumer left: the producer stops at its next chunk

    def push_from_thread(self, chunk: Any) -> bool:
        """Hand a chunk over from a lane thread, waiting while ``capacity`` are unread; ``False``: stop."""
        self._threaded = True
        while not self._thread_credits.acquire(timeout=0.5):
            if self.closed:
                return False
        if self.closed:
            return False
        self._loop.call_soon_threadsafe(self._events.put_nowait, (_DATA, chunk))
        return True

    async def push(self, chunk: Any) -> bool:
        """Hand a chunk over from a task on the loop (async generators); ``False``: stop."""
        await self._loop_credits.acquire()
        if self.closed:
            return False
        self._events.put_nowait((_DATA, chunk))
        return True

    def settle(self, future: asyncio.Future[ScheduledResult]) -> None:
        """The scheduler's future is done: the call ended, raised, or timed out (it is a done callback)."""
        outcome = future.result()
        if outcome.error is None:
            self._events.put_nowait((_END, None))
        else:
            self._events.put_nowait((_ERROR, outcome.error))

    async def get(self) -> tuple[bool, Any]:
        """``(True, chunk)``, or ``(False, None)`` at the end; raises the error that ended the call."""
        if self._held is not None:
            kind, value = self._held
            self._held = None
        else:
            kind, value = await self._events.get()
        if kind == _DATA:
            self._credit()
            return True, value
        if kind == _ERROR:
            raise value
        return False, None

    def ready(self) -> list[Any]:
        """The chunks already waiting, without waiting: a fast producer's chunks then share one write. An end or
        an error met on the way is kept for the next :meth:`get`."""
        chunks: list[Any] = []
        while self._held is None and not self._events.empty():
            event = self._events.get_nowait()
            if event[0] != _DATA:
                self._held = event
                break
            self._credit()
            chunks.append(event[1])
        return chunks

    def _credit(self) -> None:
        if self._threaded:
            self._thread_credits.release()
        else:
            self._loop_credits.release()

    def abort(self, error: BaseException) -> None:
        """End the stream from the consumer's side (the client left): the reader gets ``error`` next."""
        self._events.put_nowait((_ERROR, error))
        self.close()

    def close(self) -> None:
        """The consumer is gone: wake a producer waiting for room so it sees ``closed`` and stops."""
        if not self.closed:
            self.closed = True
            self._thread_credits.release()
            self._loop_credits.release()


@dataclass(slots=True)
class StreamJob:
    """The scheduler's payload for one streamed request: the decoded payload and its channel."""

    payload: Any
    channel: Channel


def stream_strategy(produce: Callable[[Any], Any], is_async: bool) -> Strategy:
    """One request per call (never batched); the call drains the generator into the job's channel and returns
    when it is exhausted, so the lane and the in-flight count are held exactly as long as the stream."""
    if is_async:

        async def call_async(jobs: list[StreamJob]) -> list[None]:
            job = jobs[0]
            generator: AsyncGenerator[Any, None] = produce(job.payload)  # an async generator function's, by load
            try:
                async for chunk in generator:
                    if not await job.channel.push(chunk):
                        break
            finally:
                await generator.aclose()
            return [None]

        return Strategy(call_async, True, 1)

    def call(jobs: list[StreamJob]) -> list[None]:
        job = jobs[0]
        generator: Iterator[Any] = produce(job.payload)
        try:
            for chunk in generator:
                if not job.channel.push_from_thread(chunk):
                    break
        finally:
            close = getattr(generator, "close", None)
            if close is not None:
                close()
        return [None]

    return Strategy(call, False, 1)


class ChunkStream:
    """The consumer side of one stream after its first chunk: encoded chunks, each within ``idle`` seconds of
    the previous one. ``status`` is what the request is counted as once it ends (200, or the failure's)."""

    def __init__(self, channel: Channel, media: str | None, idle: float, first: bytes) -> None:
        self.channel = channel
        self.media = media
        self.idle = idle
        self.first = first
        self.status = 200
        self.error: BaseException | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Every chunk; stops early (``status``/``error`` set) on a failure, which the HTTP layer sends as a cut."""
        yield self.first
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.idle) as deadline:
                while True:
                    more, item = await self.channel.get()
                    if not more:
                        return
                    deadline.reschedule(loop.time() + self.idle)
                    waiting = self.channel.ready()
                    if not waiting:
                        yield encode_chunk(item, self.media)
                    else:
                        yield b"".join(encode_chunk(each, self.media) for each in (item, *waiting))
        except TimeoutError:
            self.fail(504, StreamTimeoutError(f"no chunk within {self.idle:g} s of the last (request_timeout_seconds)"))
        except ServingError as error:  # a chunk that cannot be encoded, the client gone (499), or the user's own
            self.fail(error.status, error)
        except Exception as error:  # the predictor raised
            self.fail(500, error)
        finally:
            self.channel.close()

    def fail(self, status: int, error: BaseException) -> None:
        self.status, self.error = status, error


@dataclass(slots=True)
class StreamReply:
    """What the runtime hands the HTTP layer for a stream whose first chunk is ready: status 200 is decided."""

    content_type: str
    stream: ChunkStream
    started: float = 0.0  # perf_counter at the request's arrival, for the latency once the stream ends


async def send_stream(reply: StreamReply, send: Callable[[dict[str, Any]], Any], receive: Callable[[], Any]) -> int:
    """Write a stream as a chunked response (no ``Content-Length``: uvicorn then frames it chunked, as the
    contract asks); returns the status the request is counted as.

    A failure after the first chunk cannot change the status line, so the response is cut: with JSON lines a last
    line ``{"error": {"code", "message"}}`` says why, then the connection is closed without the terminating chunk
    (every HTTP client sees a truncated body; SageMaker reports ``ModelStreamError`` ``StreamBroken``).
    """
    stream = reply.stream
    headers = [(b"content-type", reply.content_type.encode("latin-1"))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    watcher = asyncio.ensure_future(_watch_disconnect(receive, stream.channel))
    try:
        async for chunk in stream.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        watcher.cancel()
    if stream.error is None:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return stream.status
    if stream.status != ClientDisconnectedError.status:
        reason = _reason(stream.error)
        logger.error("stream cut after it started: %s", reason["message"], exc_info=stream.error)
        if reply.content_type == JSON_LINES:
            await send(
                {"type": "http.response.body", "body": orjson.dumps({"error": reason}) + b"\n", "more_body": True}
            )
    return stream.status  # returning without the last message makes uvicorn close the connection: the cut


async def _watch_disconnect(receive: Callable[[], Any], channel: Channel) -> None:
    """The request body is read, so the next ASGI message is the client leaving: stop the generator then."""
    while (await receive())["type"] != "http.disconnect":
        pass
    channel.abort(ClientDisconnectedError("the client closed the connection during the stream"))


def _reason(error: BaseException) -> dict[str, str]:
    if isinstance(error, ServingError):
        return error.as_reason()
    if isinstance(error, StreamTimeoutError):
        return {"code": RequestTimeoutError.code, "message": str(error)}
    return PredictorError(f"{type(error).__name__}: {error}").as_reason()
