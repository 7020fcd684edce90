"""Connection limits over real sockets: header, body and keep-alive timeouts, the connection cap, slowloris.

Each test runs axon-serve's uvicorn (uvloop, ``GuardedProtocol``) in a thread on a loopback port, with limits of a
fraction of a second; assertions leave seconds of margin, so a loaded machine delays them but does not fail them.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from axon_serving.limits import Limits, capacity_warning, ensure_descriptors
from axon_serving.loader import read_spec
from axon_serving.server import App
from axon_serving.worker import bind, build_app, server_config

from axon.spec import ServingSpec
from tests.unit.serving.conftest import make_model_dir

PATIENCE = 10.0  # how long a client waits for the server to act; a limit that never fires fails the test by then
SLOW = {"predictor": {"config": {"seconds": 0}}}


@contextlib.contextmanager
def serving(model_dir: Path, limits: Limits) -> Iterator[int]:
    """The port of a ready server running ``limits``; stopped (and its thread joined) on exit."""
    app = build_app(model_dir, read_spec(model_dir), {})
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, limits, drain_seconds=1, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = int(sock.getsockname()[1])
    try:
        deadline = time.monotonic() + 60
        while _ping(port) != 200:
            assert time.monotonic() < deadline and thread.is_alive(), "the server never became ready"
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def _ping(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code
    except httpx.TransportError:
        return None


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    sock.settimeout(PATIENCE)
    return sock


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a close)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_code(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(body)["error"]["code"]


def request(path: str, body: bytes = b"", method: str = "POST") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: axon\r\ncontent-type: application/json\r\n"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


@pytest.fixture
def slow_dir(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "m", "slow_predict", SLOW)


def test_partial_headers_get_408_after_the_header_timeout(slow_dir: Path) -> None:
    with serving(slow_dir, Limits(header_timeout=0.5)) as port, connect(port) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nhost: axon\r\n")
        started = time.monotonic()
        response = read_to_close(sock)
        elapsed = time.monotonic() - started
    assert status_and_code(response) == (408, "serving.read_timeout")
    assert b"connection: close" in response
    assert 0.4 <= elapsed < PATIENCE - 2


def test_trickled_headers_cannot_outlast_the_header_timeout(slow_dir: Path) -> None:
    """A byte every 0.1 s keeps no read idle for long, so only a deadline on the whole header ends it."""
    with serving(slow_dir, Limits(header_timeout=1.0)) as port, connect(port) as sock:
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the server closes mid-trickle: EPIPE or a reset
            for byte in b"POST /invocations HTTP/1.1\r\nx-trickle: " + b"a" * 200:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        elapsed = time.monotonic() - started
        response = read_to_close(sock)
    assert elapsed < PATIENCE, "the trickle outlasted the header timeout"
    assert response == b"" or response.startswith(b"HTTP/1.1 408 ")


def test_a_silent_new_connection_is_closed_without_a_response(slow_dir: Path) -> None:
    with serving(slow_dir, Limits(header_timeout=0.5)) as port, connect(port) as sock:
        started = time.monotonic()
        assert read_to_close(sock) == b""  # no request was sent, so none is answered
        assert 0.4 <= time.monotonic() - started < PATIENCE - 2


def test_stalled_body_gets_408_after_the_body_timeout_and_never_reaches_the_predictor(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path / "m", "echo")
    with serving(model_dir, Limits(header_timeout=30, body_timeout=0.5)) as port, connect(port) as sock:
        head = b"POST /invocations HTTP/1.1\r\nhost: axon\r\ncontent-type: application/octet-stream\r\n"
        sock.sendall(head + b"content-length: 100\r\n\r\n" + b"x" * 10)
        started = time.monotonic()
        response = read_to_close(sock)
        elapsed = time.monotonic() - started
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert status_and_code(response) == (408, "serving.read_timeout")
    assert 0.4 <= elapsed < PATIENCE - 2
    assert 'code="200"' not in metrics and 'code="499"' in metrics  # counted as a client that left, not run


def test_a_large_body_at_a_steady_rate_outlasts_the_base_body_timeout(slow_dir: Path) -> None:
    """1 s per BODY_MIN_RATE bytes received is added: 16 x 64 KiB at ~10 per second takes 3x the base 0.5 s."""
    payload = orjson.dumps({"id": "x" * (16 * 65536), "seconds": 0})
    with serving(slow_dir, Limits(body_timeout=0.5)) as port, connect(port) as sock:
        message = request("/invocations", payload)
        started = time.monotonic()
        for offset in range(0, len(message), 65536):
            sock.sendall(message[offset : offset + 65536])
            time.sleep(0.1)
        sock.shutdown(socket.SHUT_WR)
        response = read_to_close(sock)
    assert time.monotonic() - started > 1.5
    assert response.startswith(b"HTTP/1.1 200 ")


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(slow_dir: Path) -> None:
    with serving(slow_dir, Limits(header_timeout=30, keep_alive_timeout=0.5)) as port, connect(port) as sock:
        sock.sendall(request("/ping", method="GET"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert read_to_close(sock) == b""
        assert 0.4 <= time.monotonic() - started < PATIENCE - 2


def test_connections_past_the_cap_are_refused_while_work_in_flight_completes(slow_dir: Path) -> None:
    with serving(slow_dir, Limits(header_timeout=30, max_connections=4)) as port:
        busy = connect(port)
        busy.sendall(request("/invocations", orjson.dumps({"id": 1, "seconds": 2})))
        idle = [connect(port) for _ in range(3)]  # with ``busy``: the cap
        time.sleep(0.3)  # accepted by the server before the next one (the backlog is first in, first out)
        extra = connect(port)
        started = time.monotonic()
        with contextlib.suppress(OSError):  # the server may already have closed it
            extra.sendall(request("/ping", method="GET"))
        refused = read_to_close(extra)
        assert time.monotonic() - started < 1.5  # refused at once, not after a timeout
        assert refused == b"" or status_and_code(refused) == (503, "serving.too_many_connections")
        assert b"retry-after: 1" in refused or refused == b""
        answer = read_to_close_after(busy, b'"id":1')
        assert answer.startswith(b"HTTP/1.1 200 ")
        for sock in [busy, extra, *idle]:
            sock.close()


def read_to_close_after(sock: socket.socket, marker: bytes) -> bytes:
    """A keep-alive response: read until ``marker`` appears in what came back."""
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before {marker!r}: {data!r}"
        data += chunk
    return data


def test_a_slowloris_at_the_cap_cannot_starve_a_client_once_its_sockets_time_out(slow_dir: Path) -> None:
    limits = Limits(header_timeout=1.0, max_connections=20)
    with serving(slow_dir, limits) as port:
        loris = [connect(port) for _ in range(20)]
        for sock in loris[::2]:  # half send nothing, half a partial request
            sock.sendall(b"POST /invocations HTTP/1.1\r\nhost: axon\r\n")
        time.sleep(0.3)
        with connect(port) as early:  # at the cap: refused
            refused = read_to_close(early)
        assert refused == b"" or refused.startswith(b"HTTP/1.1 503 ")
        started = time.monotonic()
        for sock in loris:  # every slowloris socket is closed by the server, none by us
            read_to_close(sock)
        assert time.monotonic() - started < PATIENCE - 2
        reply = httpx.post(f"http://127.0.0.1:{port}/invocations", json={"id": 7, "seconds": 0}, timeout=PATIENCE)
        assert (reply.status_code, reply.json()["id"]) == (200, 7)
        for sock in loris:
            sock.close()


def test_oversized_headers_get_431(slow_dir: Path) -> None:
    with serving(slow_dir, Limits(header_timeout=30, max_header_bytes=8192)) as port, connect(port) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(b"POST /invocations HTTP/1.1\r\nx-big: " + b"a" * 20000)
        response = read_to_close(sock)
    assert response == b"" or status_and_code(response) == (431, "serving.headers_too_large")


def test_a_disconnect_mid_body_never_runs_the_predictor(tmp_path: Path) -> None:
    """Before the fix, ``http.disconnect`` read as the end of the body: the predictor got a truncated one."""
    model_dir = make_model_dir(tmp_path / "m", "echo")

    async def scenario() -> list[dict[str, Any]]:
        app: App = build_app(model_dir, read_spec(model_dir), {})
        app.lifecycle.startup()
        await asyncio.wait_for(app.lifecycle.loaded.wait(), 30)
        arriving: list[dict[str, Any]] = [
            {"type": "http.request", "body": b"abc", "more_body": True},
            {"type": "http.disconnect"},
        ]
        messages = iter(arriving)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"10")]
        await app({"type": "http", "path": "/invocations", "method": "POST", "headers": headers}, receive, send)
        await app.lifecycle.shutdown()
        assert app.stats.by_status == {499: 1}
        return sent

    sent = asyncio.run(scenario())
    assert sent[0]["status"] == 499 and b"abc" not in sent[1]["body"]


@pytest.mark.integration
def test_the_cli_flags_reach_a_real_axon_serve(slow_dir: Path, serve_process: Any) -> None:
    """The whole path: flags -> ``run_worker`` -> uvloop worker; a stalled request is cut at 0.5 s, not held."""
    server = serve_process(slow_dir, "--header-timeout", "0.5", "--max-connections", "50")
    server.wait_for_ping(200)
    with connect(server.port) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\n")
        started = time.monotonic()
        assert status_and_code(read_to_close(sock)) == (408, "serving.read_timeout")
        assert time.monotonic() - started < PATIENCE - 2
    assert server.terminate() == 0


def test_a_cap_under_the_admitted_requests_is_warned_about() -> None:
    assert capacity_warning(ServingSpec(), Limits()) is None  # 1 + 100 admitted, 1000 connections
    message = capacity_warning(ServingSpec(max_concurrency=8, max_queue_length=2000), Limits())
    assert message is not None and "2008" in message


def test_the_open_file_limit_is_raised_to_fit_the_cap() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 256 if hard == resource.RLIM_INFINITY else min(256, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
        ensure_descriptors(Limits(max_connections=1000))
        wanted = 1000 + 64
        raised = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert raised == (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_websocket_upgrade_is_served_as_a_plain_request(slow_dir: Path) -> None:
    """No protocol switch (and so no path around the limits): with a WebSocket library installed, uvicorn used to
    switch protocols and answer 500."""
    upgrade = b"connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    with serving(slow_dir, Limits()) as port, connect(port) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nhost: axon\r\n" + upgrade + b"sec-websocket-version: 13\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
