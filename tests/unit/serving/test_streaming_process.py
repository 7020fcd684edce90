"""A real ``axon-serve`` streaming over HTTP/1.1: chunked framing, chunks on the wire as they are yielded, a
failure mid-stream seen by the client as a truncated body, and the load refusal's exit code and marker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from axon_serving.worker import LOAD_FAILED_EXIT_CODE

from axon.names import MODEL_LOAD_FAILED_MARKER
from tests.unit.serving.conftest import make_model_dir

pytestmark = pytest.mark.integration


def test_chunks_reach_the_client_as_they_are_yielded_and_a_failure_truncates_the_body(
    tmp_path: Path, serve_process: Any
) -> None:
    server = serve_process(make_model_dir(tmp_path / "m", "stream_tokens"))
    server.wait_for_ping(200)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        started = time.perf_counter()
        arrivals: list[tuple[float, bytes]] = []
        with client.stream("POST", "/invocations", json={"n": 3, "delay": 0.25}) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
            for chunk in response.iter_raw():
                arrivals.append((time.perf_counter() - started, chunk))
        assert b"".join(chunk for _, chunk in arrivals) == b"t0 t1 t2 "
        assert arrivals[0][0] < 0.2 and arrivals[-1][0] >= 0.5  # the first token left before the last was made

        with client.stream("POST", "/invocations", json={"n": 5, "fail_after": 2, "as": "dict"}) as response:
            assert response.status_code == 200
            received = b""
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in response.iter_raw():
                    received += chunk
        assert received.startswith(b'{"token":0}\n{"token":1}\n{"error":{"code":"serving.predictor_error"')
        # the connection was closed, not poisoned: the next request on a new one is served
        assert client.post("/invocations", json={"n": 1}).content == b"t0 "
    assert server.terminate() == 0


def test_a_yielding_predictor_with_batching_exits_3_with_the_marker(tmp_path: Path, serve_process: Any) -> None:
    model_dir = make_model_dir(tmp_path / "m", "stream_tokens", {"serving": {"max_batch_size": 8}})
    server = serve_process(model_dir)
    assert server.process.wait(timeout=60) == LOAD_FAILED_EXIT_CODE
    last = server.stderr().strip().splitlines()[-1]
    assert last.startswith(MODEL_LOAD_FAILED_MARKER) and "serving.stream_not_batchable" in last
