"""A real local stack, started once for the module: the same code `axon local up` runs."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from axon.local.stack import LocalOptions, LocalStack
from axon.registry import DynamoDBRegistry, VersionRecord

ROOT = Path(__file__).resolve().parents[3]
_CLIENTS_LOCK = threading.Lock()
SERVICES = ("s3", "dynamodb", "sagemaker", "sagemaker-runtime", "events", "stepfunctions")


@dataclass
class Local:
    stack: LocalStack
    # Taken once at start: in-process Lambda invocations change os.environ on other threads while they run.
    cli_env: dict[str, str]
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """One shared client per service: boto3 clients are thread-safe, and creating one reads os.environ,
        which in-process Lambda invocations change on other threads, so clients are made once, up front."""
        with _CLIENTS_LOCK:
            if service not in self.clients:
                self.clients[service] = boto3.client(service, config=Config(retries={"max_attempts": 1}))  # type: ignore[call-overload]
            return self.clients[service]

    @property
    def registry(self) -> DynamoDBRegistry:
        return DynamoDBRegistry("axon-registry", self.client("dynamodb"))

    def upload(self, api: str, data: bytes, filename: str = "bundle.tar.gz") -> str:
        answer = self.client("s3").put_object(Bucket="axon-models", Key=f"apis/{api}/{filename}", Body=data)
        return str(answer["VersionId"])

    def wait_final(self, api: str, version_id: str, timeout: float = 120) -> VersionRecord:
        return self.wait_for(
            lambda: (r := self.registry.find_version(api, version_id)) is not None and r.status.is_final and r,
            f"{api} {version_id} to finish",
            timeout,
        )

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")

    def predict(self, api: str, payload: Any) -> Any:
        runtime = self.client("sagemaker-runtime")
        body = runtime.invoke_endpoint(
            EndpointName=f"axon-{api}", Body=json.dumps(payload), ContentType="application/json"
        )
        return json.loads(body["Body"].read())

    def replicas(self, api: str) -> int:
        endpoint = self.client("sagemaker").describe_endpoint(EndpointName=f"axon-{api}")
        return int(endpoint["ProductionVariants"][0].get("CurrentInstanceCount") or 0)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    saved = dict(os.environ)
    stack = LocalStack(
        LocalOptions(
            port=0,
            tick_seconds=3600,  # the tests fire the schedule themselves
            wait_scale=0.05,
            time_scale=20,
            cache_dir=tmp_path_factory.mktemp("axon-cache"),
            ping_timeout_seconds=15,
        )
    ).start()
    try:
        local = Local(stack, dict(os.environ))
        for service in SERVICES:  # before any Lambda runs
            local.client(service)
        yield local
    finally:
        stack.close()
        os.environ.clear()
        os.environ.update(saved)
