"""The invocation pipeline and one process's serving state: loading -> ready (or failed) -> draining.

``invoke`` turns an ``Invocation`` into a ``Reply`` and never raises for a request's sake: every failure
becomes a JSON error reply with its status, and a predictor's traceback goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from enum import Enum

from axon.spec import ServingSpec
from axon_serving.errors import NotReadyError, PredictorError, ServingError
from axon_serving.lanes import AdaptiveLanes, Lanes, LoopLanes, ThreadLanes
from axon_serving.metrics import ServiceMeter
from axon_serving.predictor import Handler
from axon_serving.protocol import Invocation, Reply, error_reply
from axon_serving.scheduler import Scheduler, strategy
from axon_serving.streaming import (
    Channel,
    ChunkStream,
    StreamJob,
    StreamReply,
    content_type_for,
    encode_chunk,
    negotiate_stream,
    stream_strategy,
)

logger = logging.getLogger("axon_serving")


class State(Enum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    DRAINING = "draining"


class Runtime:
    """Owns the handler, its scheduler and lanes once the model is loaded."""

    def __init__(self, serving: ServingSpec) -> None:
        self.serving = serving
        self.state = State.LOADING
        self.reason = "the model is loading"
        self.handler: Handler | None = None
        self.scheduler: Scheduler | None = None
        self._lanes: Lanes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.meter = ServiceMeter()  # arrivals and predictor time, read once per window by the lifecycle

    @property
    def in_flight(self) -> int:
        return self.scheduler.in_flight if self.scheduler is not None else 0

    def attach(self, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        """The model is loaded: start taking requests (unless a drain began meanwhile)."""
        serving = self.serving
        lanes: Lanes
        if handler.stream is not None:  # never inline: a stream would block the loop for its whole length
            plan = stream_strategy(handler.stream, handler.stream_is_async)
            lanes = LoopLanes(loop) if plan.is_async else ThreadLanes(loop, serving.max_concurrency)
        else:
            plan = strategy(handler, serving.max_batch_size)
            if serving.max_batch_size > 1 and plan.batch_size == 1:
                logger.warning(
                    "max_batch_size is %d but the predictor has no predict_batch: not batching", serving.max_batch_size
                )
            lanes = LoopLanes(loop) if plan.is_async else AdaptiveLanes(loop, serving.max_concurrency)
        self.scheduler = Scheduler(
            plan,
            lanes,
            loop=loop,
            concurrency=serving.max_concurrency,
            batch_timeout=serving.batch_timeout_ms / 1000,
            queue_length=serving.max_queue_length,
            timeout=serving.request_timeout_seconds,
            meter=self.meter,
        )
        self.handler, self._lanes, self._loop = handler, lanes, loop
        if self.state is State.LOADING:
            self.state, self.reason = State.READY, "ready"

    def fail(self, reason: str) -> None:
        self.state, self.reason = State.FAILED, reason

    def drain(self) -> None:
        """SIGTERM: answer ``/ping`` 503 and refuse new invocations; requests already admitted finish."""
        self.state, self.reason = State.DRAINING, "the server is shutting down"

    def close(self) -> None:
        """After the drain: let the lane threads go."""
        if self._lanes is not None:
            self._lanes.close()

    async def invoke(self, invocation: Invocation) -> Reply | StreamReply:
        handler, scheduler = self.handler, self.scheduler
        if self.state is not State.READY or handler is None or scheduler is None:
            return error_reply(NotReadyError(self.reason))
        if handler.stream is not None:
            return await self._invoke_stream(handler, scheduler, invocation)
        try:
            media_in = handler.media_in(invocation.content_type)
            media_out = handler.media_out(invocation.accept)
            payload = handler.decode(invocation, media_in, media_out)
            outcome = scheduler.try_now(payload)
            if outcome is None:
                item = scheduler.submit(payload)
                try:
                    outcome = await item.future  # the scheduler answers 504 itself when the timeout passes
                except asyncio.CancelledError:
                    scheduler.abandon(item)
                    raise
            if outcome.error is not None:
                raise _as_serving_error(outcome.error)
            body, content_type = handler.encode(outcome.value, media_out)
            return Reply(200, body, content_type)
        except ServingError as error:
            return error_reply(error)

    async def _invoke_stream(
        self, handler: Handler, scheduler: Scheduler, invocation: Invocation
    ) -> Reply | StreamReply:
        """Wait for the first chunk (bounded by the request timeout, as any answer): errors until then are ordinary
        error replies; from the first chunk on the status is 200 and the HTTP layer sends the rest as it comes."""
        assert self._loop is not None  # set by attach, with the handler
        try:
            media_in = handler.media_in(invocation.content_type)
            media = negotiate_stream(invocation.accept)
            channel = Channel(self._loop)
            item = scheduler.submit(StreamJob(handler.decode(invocation, media_in, media), channel))
            item.future.add_done_callback(channel.settle)
            try:
                more, first = await channel.get()
            except asyncio.CancelledError:
                scheduler.abandon(item)
                channel.close()
                raise
            except Exception as error:  # raised before the first chunk, or timed out (504)
                channel.close()
                raise _as_serving_error(error) from None
            if item.timer is not None:
                item.timer.cancel()  # from now on the idle time between chunks is bounded (ChunkStream)
            if not more:
                return Reply(200, b"", content_type_for(media, None))
            try:
                body = encode_chunk(first, media)
            except ServingError:
                channel.close()
                raise
            stream = ChunkStream(channel, media, self.serving.request_timeout_seconds, body)
            return StreamReply(content_type_for(media, first), stream)
        except ServingError as error:
            return error_reply(error)


def _as_serving_error(error: BaseException) -> ServingError:
    """Our own errors raised inside user stages keep their status; anything else is a logged 500."""
    if isinstance(error, ServingError):
        return error
    logger.error("predictor raised %s: %s", type(error).__name__, error, exc_info=error)
    return PredictorError(f"{type(error).__name__}: {error}")
