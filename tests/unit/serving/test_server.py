"""The container contract and every request error path, in-process over ASGI (no sockets)."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.unit.serving.conftest import client_for, make_model_dir, running_app


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _post(model_dir: Path, body: bytes, headers: dict[str, str] | None = None) -> Any:
    async with running_app(model_dir) as app, client_for(app) as client:
        return await client.post("/invocations", content=body, headers=headers or {})


def test_ping_is_200_once_loaded_and_json_round_trips(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_app(make_model_dir(tmp_path, "echo")) as app, client_for(app) as client:
            assert (await client.get("/ping")).status_code == 200
            reply = await client.post("/invocations", json={"x": [1, 2]})
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "application/json"
            assert reply.json() == {"x": [1, 2]}

    run(scenario())


def test_no_content_type_means_json(tmp_path: Path) -> None:
    reply = run(_post(make_model_dir(tmp_path, "echo"), b'{"a": 1}'))
    assert reply.status_code == 200 and reply.json() == {"a": 1}


@pytest.mark.parametrize(
    ("content_type", "accept", "body", "expected_type"),
    [
        ("text/csv", "text/csv", b"1,2\n3,4\n", "text/csv"),
        ("text/csv", "application/json", b"1,2\n3,4\n", "application/json"),
        ("application/x-npy", "application/x-npy", None, "application/x-npy"),
        ("application/octet-stream", None, b"\x00\x01raw", "application/octet-stream"),
        ("application/json; charset=utf-8", "application/*", b"[1]", "application/json"),
    ],
)
def test_every_content_type(
    tmp_path: Path, content_type: str, accept: str | None, body: bytes | None, expected_type: str
) -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    if body is None:
        buffer = io.BytesIO()
        np.save(buffer, array)
        body = buffer.getvalue()
    headers = {"content-type": content_type, **({"accept": accept} if accept else {})}
    reply = run(_post(make_model_dir(tmp_path, "echo"), body, headers))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == expected_type
    if expected_type == "application/x-npy":
        assert np.array_equal(np.load(io.BytesIO(reply.content)), array)
    elif content_type.startswith("text/csv") and expected_type == "text/csv":
        assert reply.text == "1.0,2.0\n3.0,4.0\n"
    elif content_type.startswith("text/csv"):
        assert reply.json() == [[1.0, 2.0], [3.0, 4.0]]
    elif content_type == "application/octet-stream":
        assert reply.content == body


@pytest.mark.parametrize(
    ("predictor", "body", "headers", "status", "code"),
    [
        ("echo", b"{not json", {"content-type": "application/json"}, 400, "serving.bad_request"),
        ("echo", b"a,b\n", {"content-type": "text/csv"}, 400, "serving.bad_request"),
        ("echo", b"not npy", {"content-type": "application/x-npy"}, 400, "serving.bad_request"),
        ("echo", b"<x/>", {"content-type": "application/xml"}, 415, "serving.unsupported_media_type"),
        ("echo", b"{}", {"accept": "image/png"}, 406, "serving.not_acceptable"),
        ("echo", b'"text"', {"accept": "application/octet-stream"}, 500, "serving.bad_output"),
        ("bad_output", b"{}", {}, 500, "serving.bad_output"),
        ("raises_in_predict", b'{"fail": true}', {}, 500, "serving.predictor_error"),
        ("batch_wrong_length", b"{}", {}, 200, None),  # max_batch_size 1: predict_batch unused
    ],
)
def test_error_replies_are_json_with_a_code(
    tmp_path: Path, predictor: str, body: bytes, headers: dict[str, str], status: int, code: str | None
) -> None:
    reply = run(_post(make_model_dir(tmp_path, predictor), body, headers))
    assert reply.status_code == status, reply.text
    if code is not None:
        assert reply.json()["error"]["code"] == code
        assert reply.json()["error"]["message"]


def test_predictor_exception_is_logged_and_the_server_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running_app(make_model_dir(tmp_path, "raises_in_predict")) as app, client_for(app) as client:
            failed = await client.post("/invocations", json={"fail": True})
            assert failed.json()["error"]["message"] == "ValueError: cannot predict on this input"
            assert (await client.post("/invocations", json={})).json() == {"ok": True}

    with caplog.at_level(logging.ERROR, logger="axon_serving"):
        run(scenario())
    assert any(record.exc_info and "cannot predict" in record.getMessage() for record in caplog.records)


def test_oversized_body_is_413_by_header_and_by_stream(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "echo", {"serving": {"max_request_bytes": 10}})

    async def chunks() -> Any:
        for _ in range(4):
            yield b"[1,2,3,4]"

    async def scenario() -> None:
        async with running_app(model_dir) as app, client_for(app) as client:
            declared = await client.post("/invocations", content=b"[" + b"1," * 20 + b"1]")
            streamed = await client.post("/invocations", content=chunks())
            small = await client.post("/invocations", content=b"[1]")
            for reply in (declared, streamed):
                assert reply.status_code == 413
                assert reply.headers["connection"] == "close"
                assert reply.json()["error"]["code"] == "serving.payload_too_large"
            assert small.json() == [1]

    run(scenario())


def test_queue_full_is_503_with_retry_after(tmp_path: Path) -> None:
    spec = {"serving": {"max_concurrency": 1, "max_queue_length": 1}}
    model_dir = make_model_dir(tmp_path, "gated", spec)

    async def scenario() -> None:
        async with running_app(model_dir) as app, client_for(app) as client:
            gate = app.runtime.handler.predict.__self__.gate  # type: ignore[union-attr]
            admitted = [asyncio.create_task(client.post("/invocations", json={"n": n})) for n in range(2)]
            while app.runtime.in_flight < 2:
                await asyncio.sleep(0.01)
            refused = await client.post("/invocations", json={"n": 2})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "serving.queue_full"
            gate.set()
            assert [(await task).json() for task in admitted] == [{"n": 0}, {"n": 1}]

    run(scenario())


def test_timeout_is_504_and_frees_the_queue(tmp_path: Path) -> None:
    spec = {"predictor": {"config": {"seconds": 0.5}}, "serving": {"request_timeout_seconds": 0.1}}
    model_dir = make_model_dir(tmp_path, "slow_predict", spec)

    async def scenario() -> None:
        async with running_app(model_dir) as app, client_for(app) as client:
            replies = await asyncio.gather(*(client.post("/invocations", json={"id": n}) for n in range(3)))
            assert [reply.status_code for reply in replies] == [504, 504, 504]
            assert replies[0].json()["error"]["code"] == "serving.timeout"
            while app.runtime.in_flight:  # the running call finishes; the queued two never run
                await asyncio.sleep(0.05)
            fast = await client.post("/invocations", json={"seconds": 0, "id": 9})
            assert fast.json() == {"slept": 0, "id": 9}

    run(scenario())


def test_not_ready_while_loading_and_after_a_failed_load(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_app(make_model_dir(tmp_path, "raises_in_init")) as app, client_for(app) as client:
            ping = await client.get("/ping")
            assert ping.status_code == 503 and ping.json() == {"status": "failed"}
            reply = await client.post("/invocations", json={})
            assert reply.status_code == 503
            assert "weights file is corrupt" in reply.json()["error"]["message"]

    run(scenario())


def test_draining_refuses_new_work(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_app(make_model_dir(tmp_path, "echo")) as app, client_for(app) as client:
            app.runtime.drain()
            assert (await client.get("/ping")).status_code == 503
            reply = await client.post("/invocations", json={})
            assert reply.status_code == 503 and reply.json()["error"]["code"] == "serving.not_ready"

    run(scenario())


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("GET", "/invocations", 405), ("POST", "/ping", 405)]
)
def test_unknown_routes_and_methods(tmp_path: Path, method: str, path: str, status: int) -> None:
    async def scenario() -> int:
        async with running_app(make_model_dir(tmp_path, "echo")) as app, client_for(app) as client:
            return (await client.request(method, path)).status_code

    assert run(scenario()) == status


def test_config_and_model_dir_reach_the_predictor(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "config_echo", {"predictor": {"config": {"threshold": 0.7}}})
    assert run(_post(model_dir, b"{}")).json() == {"config": {"threshold": 0.7}, "model_dir": str(model_dir)}


def test_async_predictor(tmp_path: Path) -> None:
    assert run(_post(make_model_dir(tmp_path, "async_echo"), b"[1]")).json() == {"async": [1]}


def test_sagemaker_style_with_every_function(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "sagemaker_full")
    reply = run(_post(model_dir, b"[1, 2]", {"content-type": "application/json", "accept": "*/*"}))
    assert reply.status_code == 200 and reply.json() == {"predictions": [3, 6]}
    # a user input_fn sees any content type; its exception is the predictor's 500
    refused = run(_post(model_dir, b"x", {"content-type": "image/png"}))
    assert refused.status_code == 500 and "unsupported image/png" in refused.json()["error"]["message"]


def test_sagemaker_defaults_decode_predict_and_encode(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "sagemaker_defaults")
    as_json = run(_post(model_dir, b"[[1, 2]]"))
    as_csv = run(_post(model_dir, b"1,2\n", {"content-type": "text/csv", "accept": "text/csv"}))
    assert as_json.json() == [[2, 4]]
    assert as_csv.text == "2.0,4.0\n"
    assert run(_post(model_dir, b"{}", {"content-type": "text/html"})).status_code == 415
    assert run(_post(model_dir, b"[1]", {"accept": "image/png"})).status_code == 406


def test_metrics_endpoint_counts_statuses(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with running_app(make_model_dir(tmp_path, "echo"), {"AXON_API": "iris"}) as app, client_for(app) as c:
            await c.post("/invocations", json={})
            await c.post("/invocations", content=b"{bad")
            return (await c.get("/metrics")).text

    text = run(scenario())
    assert 'axon_requests_total{api="iris",variant="local",worker="0",code="200"} 1' in text
    assert 'axon_requests_total{api="iris",variant="local",worker="0",code="400"} 1' in text
    assert 'axon_request_duration_seconds_count{api="iris",variant="local",worker="0"} 2' in text
