"""Ship local replicas' output to the local CloudWatch Logs, where SageMaker puts an endpoint's container logs.

The fleet writes ``<logs>/<endpoint>/<variant>-<n>.log``; each becomes the stream ``<variant>-<n>`` of the group
``/aws/sagemaker/Endpoints/<endpoint>``, so ``axon logs`` reads the same place locally as on AWS.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

_MAX_BATCH_BYTES = 900_000  # PutLogEvents accepts 1 MiB per call
_MAX_EVENTS = 10_000


class LogShipper:
    def __init__(self, log_dir: Path, logs_client: Any, interval_seconds: float = 2.0) -> None:
        self._log_dir = log_dir
        self._logs = logs_client
        self._interval = interval_seconds
        self._offsets: dict[Path, int] = {}
        self._known: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="axon-log-shipper")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.ship()  # the last lines of stopped replicas

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.ship()

    def ship(self) -> int:
        """Send every new complete line; returns how many events were sent."""
        sent = 0
        for path in sorted(self._log_dir.glob("*/*.log")):
            lines = self._new_lines(path)
            if lines:
                sent += self._put(f"/aws/sagemaker/Endpoints/{path.parent.name}", path.stem, lines)
        return sent

    def _new_lines(self, path: Path) -> list[str]:
        offset = self._offsets.get(path, 0)
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offsets[path] = offset + len(complete)
        return [line for line in complete.decode(errors="replace").splitlines() if line.strip()]

    def _put(self, group: str, stream: str, lines: list[str]) -> int:
        if (group, stream) not in self._known:
            for create, kwargs in (
                (self._logs.create_log_group, {"logGroupName": group}),
                (self._logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
            ):
                with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                    create(**kwargs)
            self._known.add((group, stream))
        now = int(time.time() * 1000)
        batch: list[dict[str, Any]] = []
        size = 0
        for line in lines:
            if batch and (size + len(line) + 26 > _MAX_BATCH_BYTES or len(batch) >= _MAX_EVENTS):
                self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                batch, size = [], 0
            batch.append({"timestamp": now, "message": line})
            size += len(line) + 26  # 26 bytes of overhead per event, as CloudWatch counts
        if batch:
            self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
        return len(lines)
