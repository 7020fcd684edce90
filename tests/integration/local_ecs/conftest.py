"""A real local stack with an ECS API: the same code `axon local up` runs, started once for the module."""

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
import httpx
import pytest
from botocore.config import Config

from axon.local.stack import LocalOptions, LocalStack
from axon.platforms import ecs_specs as specs
from axon.registry import DynamoDBRegistry, VersionRecord

_CLIENTS_LOCK = threading.Lock()
SERVICES = ("s3", "dynamodb", "ecs", "elbv2", "events", "stepfunctions")


@dataclass
class Local:
    stack: LocalStack
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """One shared client per service, made up front: creating one reads os.environ, which in-process Lambda
        invocations change on other threads."""
        with _CLIENTS_LOCK:
            if service not in self.clients:
                self.clients[service] = boto3.client(service, config=Config(retries={"max_attempts": 1}))  # type: ignore[call-overload]
            return self.clients[service]

    @property
    def registry(self) -> DynamoDBRegistry:
        return DynamoDBRegistry("axon-registry", self.client("dynamodb"))

    def upload(self, api: str, data: bytes) -> str:
        answer = self.client("s3").put_object(Bucket="axon-models", Key=f"apis/{api}/bundle.tar.gz", Body=data)
        return str(answer["VersionId"])

    def wait_final(self, api: str, version_id: str, timeout: float = 120) -> VersionRecord:
        record: VersionRecord = self.wait_for(
            lambda: (r := self.registry.find_version(api, version_id)) is not None and r.status.is_final and r,
            f"{api} {version_id} to finish",
            timeout,
        )
        return record

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")

    def invoke(self, api: str, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        """What an ECS API's client does: POST to the load balancer's ``/apis/<api>/invocations``."""
        return httpx.post(
            f"{self.stack.url}/apis/{api}/invocations",
            content=json.dumps(payload),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=30,
        )

    def service(self, api: str, label: str) -> dict[str, Any] | None:
        """The version's ECS service while it is ACTIVE."""
        found = self.client("ecs").describe_services(cluster="axon", services=[specs.service_name(api, label)])
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        return active[0] if active else None

    def counts(self, api: str, label: str) -> tuple[int, int]:
        """The service's (desiredCount, runningCount); (0, 0) once it is gone."""
        service = self.service(api, label)
        return (int(service["desiredCount"]), int(service["runningCount"])) if service else (0, 0)

    def healthy_targets(self, api: str, label: str) -> int:
        elbv2 = self.client("elbv2")
        group = elbv2.describe_target_groups(Names=[specs.target_group_name(api, label)])["TargetGroups"][0]
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
        return sum(1 for t in health if t["TargetHealth"]["State"] == "healthy")

    def pids(self, api: str, label: str) -> list[int]:
        assert self.stack.ecs is not None
        return self.stack.ecs.pids(specs.service_name(api, label))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (replicas are reaped when they stop)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


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
        local = Local(stack)
        for service in SERVICES:  # before any Lambda runs
            local.client(service)
        yield local
    finally:
        stack.close()
        os.environ.clear()
        os.environ.update(saved)
