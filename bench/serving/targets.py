"""Start and stop the servers under test, each on its own loopback port, ready before load starts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
BODY = '{"x": 21}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, body: str) -> None:
    """Ready means a real invocation answers 200 (LitServe's workers and axon's model load both count)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {url}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=5).is_success:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server never became ready: {url}")


@contextlib.contextmanager
def server_process(
    command: list[str], url: str, *, body: str = BODY, ready_within: float = 120, quiet: bool = True
) -> Iterator[str]:
    """Run a server in its own session, so LitServe's forked workers go down with it; ready when ``body`` posted
    to ``url`` answers 2xx; ``quiet`` drops its output."""
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, stdout=output, stderr=output, start_new_session=True)
    try:
        _wait_ready(url, process, ready_within, body)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def axon(predictor: str, spec: dict[str, Any] | None = None, workers: int = 1) -> Iterator[str]:
    """axon-serve over a model dir holding ``predictors/<predictor>.py``; yields the invocations URL."""
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder)
        shutil.copy(HERE / "predictors" / f"{predictor}.py", model_dir / "predictor.py")
        (model_dir / "axon.yaml").write_text(yaml.safe_dump(spec or {}))
        port = free_port()
        command = [sys.executable, "-m", "axon_serving", "--model-dir", str(model_dir), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
        with server_process(command, f"http://127.0.0.1:{port}/invocations") as url:
            yield url


@contextlib.contextmanager
def script(name: str) -> Iterator[str]:
    """One of the peer servers in this folder (``baseline_raw``, ``baseline_starlette``, ``litserve_app``)."""
    port = free_port()
    with server_process(
        [sys.executable, str(HERE / f"{name}.py"), str(port)], f"http://127.0.0.1:{port}/invocations"
    ) as url:
        yield url
