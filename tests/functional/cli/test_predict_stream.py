"""``axon predict --stream``: parts printed as they arrive, from SageMaker's event stream (parsed by botocore from
real event-stream bytes) and from an ECS API's chunked answer through the load balancer; a stream that breaks
after it started is one ``predict.model_error`` line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import botocore.session
import pytest
from botocore.eventstream import EventStream
from botocore.exceptions import ClientError
from botocore.parsers import EventStreamJSONParser

from axon.cli import predict as predict_module
from axon_local.dataplane.eventstream import exception_event, payload_parts
from tests.functional.cli.conftest import Cli, one_error_line
from tests.functional.cli.test_logs_discovery_predict import iris  # noqa: F401 (fixture)
from tests.functional.cli.test_platforms import Alb, Ecs, gpu  # noqa: F401 (fixture)
from tests.local_http import http_server


def _event_stream(data: bytes) -> EventStream:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model("InvokeEndpointWithResponseStream").output_shape.members["Body"]

    class Raw:
        def stream(self) -> Any:
            return iter([data])

        def close(self) -> None:
            pass

    return EventStream(Raw(), shape, EventStreamJSONParser(), "InvokeEndpointWithResponseStream")


class FakeStreamRuntime:
    def __init__(self, data: bytes | ClientError) -> None:
        self.data = data
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_with_response_stream(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if isinstance(self.data, ClientError):
            raise self.data
        return {"Body": _event_stream(self.data), "ContentType": "text/plain"}


def test_stream_prints_each_payload_part(cli: Cli, iris: None) -> None:  # noqa: F811
    runtime = FakeStreamRuntime(b"".join(payload_parts(b"Hello") + payload_parts(b", world")))
    cli.overrides["sagemaker-runtime"] = runtime
    result = cli("predict", "iris", "--data", '{"prompt": "hi"}', "--stream")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello, world"  # as sent: no newline added off a terminal
    assert runtime.calls == [
        {"EndpointName": "axon-iris", "Body": b'{"prompt": "hi"}', "ContentType": "application/json"}
    ]


def test_a_model_stream_error_after_parts_is_one_error_line(cli: Cli, iris: None) -> None:  # noqa: F811
    broken = payload_parts(b"partial ")[0] + exception_event("ModelStreamError", "the model broke", "StreamBroken")
    cli.overrides["sagemaker-runtime"] = FakeStreamRuntime(broken)
    result = cli("predict", "iris", "--data", "{}", "--stream")
    assert result.stdout == "partial "
    assert one_error_line(result) == (
        "error: predict.model_error: iris's answer broke off: ModelStreamError: the model broke (axon logs iris)"
    )


def test_errors_before_the_stream_map_as_invoke_endpoints_do(cli: Cli, iris: None) -> None:  # noqa: F811
    error = ClientError({"Error": {"Code": "ModelError", "Message": "boom"}, "OriginalStatusCode": 500}, "X")
    cli.overrides["sagemaker-runtime"] = FakeStreamRuntime(error)
    line = one_error_line(cli("predict", "iris", "--data", "{}", "--stream"))
    assert line == "error: predict.model_error: iris answered HTTP 500: boom (axon logs iris)"


# ---- ECS: a chunked answer through the load balancer -------------------------------------------------------------

TOKENS = [b"t0 ", b"t1 ", b"t2 "]


@pytest.fixture
def alb() -> Iterator[Alb]:
    """An ALB passing a replica's chunked answer through: one token every 0.2 s; ``/break`` in the body cuts it."""
    state = Alb("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for index, token in enumerate(TOKENS):
                if index:
                    time.sleep(0.2)
                if index == 2 and b"break" in body:
                    self.wfile.flush()
                    self.close_connection = True
                    return  # no terminating chunk: the body is cut
                self.wfile.write(b"%x\r\n%s\r\n" % (len(token), token))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        state.url = url
        yield state


def test_ecs_stream_prints_chunks_as_they_arrive(
    cli: Cli,
    gpu: Ecs,  # noqa: F811
    alb: Alb,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arrivals: list[tuple[float, bytes]] = []
    write = predict_module._Output.write

    def timed(self: Any, chunk: bytes) -> None:
        arrivals.append((time.perf_counter(), chunk))
        write(self, chunk)

    monkeypatch.setattr(predict_module._Output, "write", timed)
    result = cli("predict", "gpu", "--data", "{}", "--stream")
    assert result.exit_code == 0, result.output
    assert result.stdout == "t0 t1 t2 "
    assert [chunk for _, chunk in arrivals] == TOKENS  # one write per chunk, not one at the end
    assert arrivals[-1][0] - arrivals[0][0] >= 0.35


def test_ecs_stream_cut_before_its_end_is_one_error_line(cli: Cli, gpu: Ecs, alb: Alb) -> None:  # noqa: F811
    result = cli("predict", "gpu", "--data", '{"break": true}', "--stream")
    assert result.stdout == "t0 t1 "
    assert one_error_line(result) == (
        "error: predict.model_error: gpu's answer broke off: the connection closed before its end (axon logs gpu)"
    )


def test_without_stream_the_whole_answer_is_printed_at_once(cli: Cli, gpu: Ecs, alb: Alb) -> None:  # noqa: F811
    result = cli("predict", "gpu", "--data", "{}")
    assert result.exit_code == 0 and result.stdout == "t0 t1 t2 \n"
