"""One model-server process: started in its own process group, health-checked on ``/ping``, stopped cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from axon_local.sagemaker.ports import FleetError, ReplicaExitedError

_LOG_TAIL_BYTES = 2000


def free_port() -> int:
    """A loopback port free now; the replica binds it a moment later (a collision makes the launch fail)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReplicaProcess:
    """A child process serving ``/ping`` and ``/invocations`` on ``127.0.0.1:port``.

    The child leads a new session, so :meth:`stop` signals the whole group: workers it forks go with it.
    """

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_code(self) -> int | None:
        return self._process.poll()

    def log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
                return log.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def ping(self, timeout: float = 1.0) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/ping", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float, describe: str, stop: Callable[[], bool] | None = None) -> None:
        """Block until ``/ping`` answers 200; raise :class:`FleetError` when the process exits (SageMaker's wording,
        as a model that cannot load makes ``axon-serve`` exit) or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.exit_code()
            if code is not None:
                raise ReplicaExitedError(
                    f"The primary container for production variant {describe} did not pass the ping health check. "
                    f"Please check CloudWatch logs for this endpoint. (It exited with code {code}; local log "
                    f"{self.log_path}.)",
                    code,
                    self.log_path,
                )
            if self.ping():
                return
            if time.monotonic() >= deadline or (stop is not None and stop()):
                raise FleetError(
                    f"The primary container for production variant {describe} did not pass the ping health "
                    f"check within {timeout:g} seconds. Please check the logs: {self.log_path}"
                )
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM); :meth:`wait_stopped` finishes the job."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGTERM)

    def wait_stopped(self, grace: float) -> None:
        """Wait ``grace`` seconds for the leader, then SIGKILL the group so no forked worker outlives it."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def stop(self, grace: float) -> None:
        self.terminate()
        self.wait_stopped(grace)
