"""The event-stream encoder and InvokeEndpointWithResponseStream on the runtime service, read back with botocore's
own parser and sagemaker-runtime's output shape (what boto3 iterates)."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.parsers import EventStreamJSONParser

from axon_local.dataplane import InvokeRequest, InvokeResponse, Router, RuntimeService, StatsBook
from axon_local.dataplane.eventstream import encode_message, exception_event, payload_parts
from axon_local.dataplane.router import Replica, ReplicaState
from axon_local.dataplane.runtime import StreamingResponse
from axon_local.sagemaker import FleetShare


def _events(data: bytes) -> list[Any]:
    """Parse raw bytes as boto3 does for invoke_endpoint_with_response_stream's Body."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model("InvokeEndpointWithResponseStream").output_shape.members["Body"]

    class Raw:
        def stream(self) -> Any:
            stream = io.BytesIO(data)
            return iter(lambda: stream.read(7), b"")  # odd-sized reads: messages split across chunks

        def close(self) -> None:
            pass

    return list(EventStream(Raw(), shape, EventStreamJSONParser(), "InvokeEndpointWithResponseStream"))


def test_messages_round_trip_through_botocores_parser() -> None:
    framed = encode_message({":event-type": "PayloadPart", "x": "é"}, b"\x00payload")
    buffer = EventStreamBuffer()
    buffer.add_data(framed)
    [message] = list(buffer)
    assert message.headers == {":event-type": "PayloadPart", "x": "é"} and message.payload == b"\x00payload"
    corrupt = bytearray(framed)
    corrupt[-6] ^= 0xFF
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(corrupt))
    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_payload_parts_and_a_model_stream_error_parse_as_boto3_sees_them() -> None:
    data = b"".join([*payload_parts(b"t0 "), *payload_parts(b""), *payload_parts(b"t1 ")])
    assert _events(data) == [{"PayloadPart": {"Bytes": b"t0 "}}, {"PayloadPart": {"Bytes": b"t1 "}}]
    broken = payload_parts(b"t0 ")[0] + exception_event("ModelStreamError", "it broke", "StreamBroken")
    with pytest.raises(EventStreamError) as raised:
        _events(broken)
    assert raised.value.response["Error"] == {"Code": "ModelStreamError", "Message": "it broke"}


class _Body(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], fail: bool) -> None:
        self.chunks, self.fail = chunks, fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.fail:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


class _Process:
    port = 1

    def exit_code(self) -> int | None:
        return None


def _stream(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[InvokeResponse | bytes, Router, Any]:
    router = Router(StatsBook(), random.Random(1))
    replica = Replica("axon-iris", "v", _Process())  # type: ignore[arg-type]
    router.add_replicas("f", "v", [replica])
    router.set_routes("axon-iris", [FleetShare("f", 1.0, {"v": 1.0})])
    service = RuntimeService(router, transport=httpx.MockTransport(handler))

    async def run() -> tuple[InvokeResponse | bytes, Any]:
        try:
            answer = await service.invoke_stream(InvokeRequest("axon-iris", b"{}", "application/json", "text/plain"))
            if isinstance(answer, InvokeResponse):
                return answer, None
            assert isinstance(answer, StreamingResponse)
            assert replica.outstanding == 1  # reserved while the stream runs: a drain waits for it
            return b"".join([event async for event in answer.events]), answer.headers
        finally:
            await service.aclose()

    result, headers = asyncio.run(run())
    assert replica.outstanding == 0 and replica.state is ReplicaState.READY
    return result, router, headers


def test_a_replicas_chunked_answer_becomes_payload_parts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "text/plain"  # X-Amzn-SageMaker-Accept, passed on as Accept
        return httpx.Response(200, headers={"content-type": "text/plain"}, stream=_Body([b"a", b"b"], fail=False))

    data, router, headers = _stream(handler)
    assert isinstance(data, bytes)
    assert _events(data) == [{"PayloadPart": {"Bytes": b"a"}}, {"PayloadPart": {"Bytes": b"b"}}]
    assert headers["Content-Type"] == "application/vnd.amazon.eventstream"
    assert headers["X-Amzn-SageMaker-Content-Type"] == "text/plain"
    [row] = router.stats.snapshot()
    assert (row.requests, row.count_2xx) == (1, 1)


def test_a_body_broken_mid_stream_ends_with_model_stream_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Body([b"a"], fail=True))

    data, router, _ = _stream(handler)
    assert isinstance(data, bytes)
    with pytest.raises(EventStreamError) as raised:
        _events(data)
    assert raised.value.response["Error"]["Code"] == "ModelStreamError"
    [row] = router.stats.snapshot()
    assert (row.requests, row.count_5xx) == (1, 1)


def test_a_non_2xx_before_the_stream_is_a_model_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"code": "serving.predictor_error"}})

    answer, _, _ = _stream(handler)
    assert isinstance(answer, InvokeResponse)
    assert (answer.status, answer.headers["x-amzn-ErrorType"]) == (424, "ModelError")
    assert b"serving.predictor_error" in answer.body
