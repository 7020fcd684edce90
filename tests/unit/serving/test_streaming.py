"""Streaming predictors in-process: the ASGI messages a stream produces, its accounting, timeouts and failures.

The app is driven with a recording ``send`` and a ``receive`` that can report the client leaving, so every
message (and when it was sent) is visible; httpx's ASGI transport would buffer the whole body.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from axon_serving.protocol import ScheduledResult
from axon_serving.server import App
from axon_serving.streaming import Channel

from tests.unit.serving.conftest import make_model_dir, running_app

Messages = list[tuple[float, dict[str, Any]]]


class Exchange:
    """One request against the app: what was sent back, and a switch for the client leaving."""

    def __init__(self, body: bytes, headers: dict[str, str], leave_after_chunks: int | None = None) -> None:
        self.body = body
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.messages: Messages = []
        self.gone = asyncio.Event()
        self.leave_after = leave_after_chunks
        self.started = time.perf_counter()

    async def receive(self) -> dict[str, Any]:
        if self.body is not None:
            body, self.body = self.body, None  # type: ignore[assignment]
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append((time.perf_counter() - self.started, message))
        chunks = [m for _, m in self.messages if m["type"] == "http.response.body" and m.get("body")]
        if self.leave_after is not None and len(chunks) >= self.leave_after:
            self.gone.set()

    async def run(self, app: App) -> Exchange:
        scope = {"type": "http", "path": "/invocations", "method": "POST", "headers": self.headers}
        await app(scope, self.receive, self.send)
        return self

    @property
    def status(self) -> int:
        return int(next(m for _, m in self.messages if m["type"] == "http.response.start")["status"])

    @property
    def content_type(self) -> str:
        start = next(m for _, m in self.messages if m["type"] == "http.response.start")
        return dict(start["headers"])[b"content-type"].decode()

    @property
    def chunks(self) -> list[bytes]:
        return [m["body"] for _, m in self.messages if m["type"] == "http.response.body" and m.get("body")]

    @property
    def chunk_times(self) -> list[float]:
        return [t for t, m in self.messages if m["type"] == "http.response.body" and m.get("body")]

    @property
    def completed(self) -> bool:
        """The response ended properly (the terminating chunk); False: it was cut."""
        last = self.messages[-1][1]
        return last["type"] == "http.response.body" and not last.get("more_body", False)


def post(payload: Any, headers: dict[str, str] | None = None, leave_after: int | None = None) -> Exchange:
    return Exchange(orjson.dumps(payload), {"content-type": "application/json", **(headers or {})}, leave_after)


def scenario(
    tmp_path: Path, predictor: str, body: Callable[[App], Awaitable[None]], spec: dict[str, Any] | None = None
) -> None:
    async def main() -> None:
        async with running_app(make_model_dir(tmp_path, predictor, spec)) as app:
            await body(app)

    asyncio.run(main())


def test_a_sync_generator_streams_each_token_as_it_is_yielded(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 3, "delay": 0.2}).run(app)
        assert exchange.status == 200 and exchange.completed
        assert "content-length" not in {k.decode() for k, _ in exchange.messages[0][1]["headers"]}
        assert exchange.content_type == "text/plain; charset=utf-8"
        assert exchange.chunks == [b"t0 ", b"t1 ", b"t2 "]
        first, last = exchange.chunk_times[0], exchange.chunk_times[-1]
        assert first < 0.15 and last >= 0.4, exchange.chunk_times  # the first token did not wait for the rest
        assert app.stats.by_status == {200: 1} and app.runtime.in_flight == 0

    scenario(tmp_path, "stream_tokens", body)


def test_an_async_generator_streams_json_lines_on_the_loop(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 3, "delay": 0.01}).run(app)
        assert exchange.content_type == "application/jsonlines" and exchange.completed
        assert exchange.chunks == [b'{"token":0}\n', b'{"token":1}\n', b'{"token":2}\n']

    scenario(tmp_path, "stream_async", body)


def test_sagemaker_style_generator_predict_fn_streams(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post([1, 2]).run(app)
        assert exchange.chunks == [b'{"y":10}\n', b'{"y":20}\n'] and exchange.completed

    scenario(tmp_path, "sagemaker_stream", body)


@pytest.mark.parametrize(
    ("headers", "content_type", "first"),
    [
        ({"accept": "application/jsonlines"}, "application/jsonlines", b'"t0 "\n'),
        ({"accept": "text/*"}, "text/plain; charset=utf-8", b"t0 "),
        ({"accept": "application/octet-stream"}, "application/octet-stream", b"t0 "),
        # InvokeEndpointWithResponseStream's X-Amzn-SageMaker-Accept wins over Accept
        (
            {"accept": "text/plain", "x-amzn-sagemaker-accept": "application/jsonlines"},
            "application/jsonlines",
            b'"t0 "\n',
        ),
    ],
)
def test_accept_chooses_the_stream_encoding(
    tmp_path: Path, headers: dict[str, str], content_type: str, first: bytes
) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 2}, headers).run(app)
        assert (exchange.content_type, exchange.chunks[0]) == (content_type, first)

    scenario(tmp_path, "stream_tokens", body)


def test_an_accept_a_stream_cannot_meet_is_406_before_the_predictor_runs(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 2}, {"accept": "application/json"}).run(app)
        assert exchange.status == 406 and b"serving.not_acceptable" in exchange.chunks[0]

    scenario(tmp_path, "stream_tokens", body)


def test_a_failure_before_the_first_chunk_is_an_ordinary_500(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"fail_after": 0}).run(app)
        assert exchange.status == 500 and exchange.completed
        assert orjson.loads(exchange.chunks[0])["error"]["code"] == "serving.predictor_error"

    scenario(tmp_path, "stream_tokens", body)


@pytest.mark.parametrize("predictor", ["stream_tokens", "stream_async"])
def test_a_failure_mid_stream_cuts_the_response_after_an_error_line(tmp_path: Path, predictor: str) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 5, "fail_after": 2, "as": "dict"}).run(app)
        assert exchange.status == 200 and not exchange.completed  # no terminating chunk: the client sees a cut
        assert exchange.chunks[:2] == [b'{"token":0}\n', b'{"token":1}\n']
        error = orjson.loads(exchange.chunks[2])["error"]
        assert error["code"] == "serving.predictor_error" and "broke after 2 tokens" in error["message"]
        assert len(exchange.chunks) == 3
        assert app.stats.by_status == {500: 1} and app.runtime.in_flight == 0

    scenario(tmp_path, predictor, body)


def test_a_text_stream_is_cut_without_an_error_line(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 5, "fail_after": 2}).run(app)
        assert exchange.chunks == [b"t0 ", b"t1 "] and not exchange.completed

    scenario(tmp_path, "stream_tokens", body)


def test_a_stream_counts_in_flight_and_holds_its_lane_until_it_ends(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        first = asyncio.ensure_future(post({"n": 4, "delay": 0.1}).run(app))
        second = asyncio.ensure_future(post({"n": 1}).run(app))
        await asyncio.sleep(0.15)
        assert app.runtime.in_flight == 2  # one streaming, one queued behind it (max_concurrency 1)
        assert not second.done()
        done_first, done_second = await first, await second
        assert app.runtime.in_flight == 0
        assert done_second.chunk_times[0] + done_second.started > done_first.chunk_times[-1] + done_first.started

    scenario(tmp_path, "stream_tokens", body)


def test_the_request_timeout_bounds_the_time_to_the_first_chunk(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"stall": 0.6}).run(app)
        assert exchange.status == 504 and exchange.completed
        assert orjson.loads(exchange.chunks[0])["error"]["code"] == "serving.timeout"
        assert exchange.messages[-1][0] < 0.5

    scenario(tmp_path, "stream_tokens", body, {"serving": {"request_timeout_seconds": 0.2}})


def test_the_request_timeout_bounds_the_idle_time_between_chunks(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        predictor = sys.modules["axon_user_predictor"]
        predictor.closed.clear()
        exchange = await post({"n": 3, "delay": 0.5, "as": "dict"}).run(app)
        assert exchange.chunks[0] == b'{"token":0}\n' and not exchange.completed
        assert orjson.loads(exchange.chunks[1])["error"]["code"] == "serving.timeout"
        assert 0.2 <= exchange.messages[-1][0] < 0.45  # cut at the idle timeout, not after the slow token
        assert app.stats.by_status == {504: 1}
        await asyncio.to_thread(predictor.closed.wait, 2)  # the generator was closed at its next yield
        assert predictor.closed.is_set()
        await asyncio.sleep(0.05)
        assert app.runtime.in_flight == 0

    scenario(tmp_path, "stream_tokens", body, {"serving": {"request_timeout_seconds": 0.25}})


def test_a_client_that_leaves_closes_the_generator_and_frees_the_lane(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        predictor = sys.modules["axon_user_predictor"]
        predictor.closed.clear()
        exchange = await post({"n": 100, "delay": 0.02}, leave_after=2).run(app)
        assert len(exchange.chunks) < 100 and not exchange.completed
        await asyncio.to_thread(predictor.closed.wait, 2)
        assert predictor.closed.is_set()
        await asyncio.sleep(0.05)
        assert app.runtime.in_flight == 0 and app.stats.by_status == {499: 1}

    scenario(tmp_path, "stream_tokens", body)


def test_a_slow_reader_pauses_the_producer_and_closing_releases_it() -> None:
    """Back-pressure: at most ``capacity`` unread chunks; a producer waiting for room stops once closed."""

    async def main() -> None:
        channel = Channel(asyncio.get_running_loop(), capacity=3)
        pushed: list[bool] = []

        def produce() -> None:
            for index in range(10):
                ok = channel.push_from_thread(index)
                pushed.append(ok)
                if not ok:
                    return

        producer = asyncio.ensure_future(asyncio.to_thread(produce))
        await asyncio.sleep(0.2)
        assert pushed == [True, True, True]  # the fourth waits for the reader
        assert await channel.get() == (True, 0)
        await asyncio.sleep(0.1)
        assert pushed == [True] * 4
        channel.close()
        await asyncio.wait_for(producer, 2)
        assert pushed == [True] * 4 + [False]

    asyncio.run(main())


def test_a_yielding_predictor_with_batching_is_refused_at_load(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        assert app.runtime.state.value == "failed"
        assert "serving.stream_not_batchable" in app.runtime.reason and "max_batch_size" in app.runtime.reason

    scenario(tmp_path, "stream_tokens", body, {"serving": {"max_batch_size": 4}})


def test_batching_still_batches_non_streaming_predictors(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        assert app.runtime.handler is not None and app.runtime.handler.stream is None
        exchanges = await asyncio.gather(*(post({"id": i}).run(app) for i in range(6)))
        answers = [orjson.loads(e.chunks[0]) for e in exchanges]
        assert [a["id"] for a in answers] == list(range(6)) and max(a["batch"] for a in answers) > 1

    scenario(tmp_path, "batch_echo", body, {"serving": {"max_batch_size": 8, "batch_timeout_ms": 50}})


def test_chunks_ready_together_share_one_write_and_the_end_is_kept() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        channel = Channel(loop)
        for index in range(3):
            assert await channel.push(index)
        future: asyncio.Future[ScheduledResult] = loop.create_future()
        future.set_result(ScheduledResult(error=RuntimeError("broke")))
        channel.settle(future)
        assert await channel.get() == (True, 0)
        assert channel.ready() == [1, 2]
        assert channel.ready() == []  # the error is kept for get(), not skipped
        with pytest.raises(RuntimeError, match="broke"):
            await channel.get()

    asyncio.run(main())


def test_a_fast_generator_loses_and_reorders_nothing(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        exchange = await post({"n": 2000}).run(app)
        assert exchange.completed and b"".join(exchange.chunks) == b"".join(b"t%d " % i for i in range(2000))

    scenario(tmp_path, "stream_tokens", body)


def test_a_predict_that_returns_a_generator_is_not_streamed(tmp_path: Path) -> None:
    async def body(app: App) -> None:
        assert app.runtime.handler is not None and app.runtime.handler.stream is None
        exchange = await post({}).run(app)
        assert exchange.status == 500 and orjson.loads(exchange.chunks[0])["error"]["code"] == "serving.bad_output"

    scenario(tmp_path, "returns_generator", body)
