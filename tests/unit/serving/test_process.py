"""Real ``axon-serve`` processes on loopback ports: readiness, load failure, SIGTERM drain, workers, EMF."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from axon_serving.worker import LOAD_FAILED_EXIT_CODE

from axon.names import MODEL_LOAD_FAILED_MARKER
from tests.unit.serving.conftest import make_model_dir

pytestmark = pytest.mark.integration


def test_ping_turns_healthy_only_after_init_then_sigterm_exits_0(tmp_path: Path, serve_process: Any) -> None:
    model_dir = make_model_dir(tmp_path / "m", "slow_init", {"predictor": {"config": {"seconds": 3}}})
    server = serve_process(model_dir)
    server.wait_for_ping(503)  # the socket is up while __init__ runs
    server.wait_for_ping(200)
    assert httpx.post(f"{server.url}/invocations", json={}, timeout=30).json() == {"loaded": True}
    assert server.terminate() == 0


def test_load_failure_exits_3_with_the_traceback_and_the_marker_last(tmp_path: Path, serve_process: Any) -> None:
    server = serve_process(make_model_dir(tmp_path / "m", "raises_in_init"))
    assert server.process.wait(timeout=60) == LOAD_FAILED_EXIT_CODE
    stderr = server.stderr()
    assert "Traceback" in stderr and 'raise RuntimeError("weights file is corrupt")' in stderr
    marker = stderr.strip().splitlines()[-1]
    assert marker == (
        f"{MODEL_LOAD_FAILED_MARKER} Predictor.__init__ failed: RuntimeError: weights file is corrupt (predictor.py:6)"
    )


def test_sigterm_drains_every_admitted_request(tmp_path: Path, serve_process: Any) -> None:
    spec = {"predictor": {"config": {"seconds": 0.5}}, "serving": {"max_concurrency": 1, "max_queue_length": 10}}
    server = serve_process(make_model_dir(tmp_path / "m", "slow_predict", spec))
    server.wait_for_ping(200)

    def call(n: int) -> Any:
        return httpx.post(f"{server.url}/invocations", json={"id": n}, timeout=60)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call, n) for n in range(4)]
        deadline = time.monotonic() + 30
        while _in_flight(server.url) < 4:  # all four admitted: one running, three queued
            assert time.monotonic() < deadline
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        replies = [future.result() for future in futures]
    assert [reply.status_code for reply in replies] == [200] * 4
    assert sorted(reply.json()["id"] for reply in replies) == [0, 1, 2, 3]
    assert server.process.wait(timeout=60) == 0


def test_two_workers_share_the_port_and_each_publishes_emf(tmp_path: Path, serve_process: Any) -> None:
    env = {"AXON_API": "iris", "AXON_VARIANT": "v-1"}
    server = serve_process(make_model_dir(tmp_path / "m", "echo"), "--workers", "2", env=env)
    server.wait_for_ping(200)
    assert len(_children(server.process.pid)) == 2
    for _ in range(20):  # which worker accepts is the kernel's choice; both must answer correctly
        assert httpx.post(f"{server.url}/invocations", json=[1], timeout=30).json() == [1]
    time.sleep(1.5)  # every worker takes at least one in-flight sample, so each publishes a window
    assert server.terminate() == 0
    records = [orjson.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]
    assert len(records) >= 2  # at least the final window of each worker
    assert {(r["Api"], r["Variant"]) for r in records} == {("iris", "v-1")}
    assert sum(r["Requests"] for r in records) == 20  # each request counted once, by the worker that served it


def test_a_worker_dying_alone_takes_the_replica_down(tmp_path: Path, serve_process: Any) -> None:
    server = serve_process(make_model_dir(tmp_path / "m", "echo"), "--workers", "2")
    server.wait_for_ping(200)
    os.kill(_children(server.process.pid)[0], signal.SIGKILL)
    assert server.process.wait(timeout=60) == 1
    assert "exited with -9; stopping the others" in server.stderr()


def test_bad_bundle_uri_exits_2_with_one_line(tmp_path: Path, serve_process: Any) -> None:
    server = serve_process(tmp_path / "m", "--bundle-uri", "https://example.com/bundle.tar.gz")
    assert server.process.wait(timeout=60) == 2
    assert "serving.bundle_source: bundle URI must look like s3://" in server.stderr()
    assert server.stderr().strip().splitlines()[-1].startswith(f"{MODEL_LOAD_FAILED_MARKER} bundle URI must look")


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _in_flight(url: str) -> float:
    match = re.search(r"^axon_in_flight\{[^}]*\} (\S+)$", httpx.get(f"{url}/metrics", timeout=30).text, re.M)
    assert match is not None
    return float(match.group(1))
