"""Helpers: model dirs built from the predictor zoo, in-process apps, and real ``axon-serve`` processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from axon_serving.loader import read_spec
from axon_serving.server import App
from axon_serving.worker import build_app

ZOO = Path(__file__).resolve().parents[2] / "predictors"


def make_model_dir(root: Path, predictor: str, spec: dict[str, Any] | None = None) -> Path:
    """Copy ``tests/predictors/<predictor>`` into ``root`` as the bundle's predictor file, plus axon.yaml."""
    spec = dict(spec or {})
    sagemaker = predictor.startswith("sagemaker_")
    if sagemaker:
        spec.setdefault("predictor", {})["type"] = "sagemaker"
    target = root / ("code/inference.py" if sagemaker else "predictor.py")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = ZOO / predictor if "." in predictor else ZOO / f"{predictor}.py"
    shutil.copy(source, target)
    if spec:
        (root / "axon.yaml").write_text(yaml.safe_dump(spec))
    return root


@contextlib.asynccontextmanager
async def running_app(model_dir: Path, env: dict[str, str] | None = None) -> AsyncIterator[App]:
    """The app with its lifespan started and the model load settled (ready or failed)."""
    app = build_app(model_dir, read_spec(model_dir), env or {})
    app.lifecycle.startup()
    await asyncio.wait_for(app.lifecycle.loaded.wait(), 30)
    try:
        yield app
    finally:
        await app.lifecycle.shutdown()


@contextlib.asynccontextmanager
async def client_for(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://axon", timeout=30) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A real ``axon-serve`` on a loopback port; stdout (EMF) and stderr (logs) kept for assertions."""

    def __init__(self, model_dir: Path, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path, self.stderr_path = tmp / "stdout.log", tmp / "stderr.log"
        command = [sys.executable, "-m", "axon_serving", "serve", "--model-dir", str(model_dir)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), *args]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, **(env or {})})

    def ping_status(self) -> int | None:
        try:
            return httpx.get(f"{self.url}/ping", timeout=5).status_code
        except httpx.TransportError:
            return None

    def wait_for_ping(self, status: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ping_status() == status:
                return
            assert self.process.poll() is None, f"server exited early:\n{self.stderr()}"
            time.sleep(0.1)
        raise AssertionError(f"/ping never answered {status}:\n{self.stderr()}")

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Any]:
    """Factory for real servers; every one started is killed at teardown, even when a test fails."""
    started: list[ServerProcess] = []

    def start(model_dir: Path, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
        logs = tmp_path / f"logs-{len(started)}"
        logs.mkdir()
        server = ServerProcess(model_dir, logs, *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
