"""A real local stack with an ECS API: the same code `axon local up` runs, started once for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from axon import names
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from tests.integration.harness import LocalClients, running_stack

SERVICES = ("s3", "dynamodb", "ecs", "elbv2", "events", "stepfunctions")


class Local(LocalClients):
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
        found = self.client("ecs").describe_services(
            cluster=names.ECS_CLUSTER, services=[ecs_service.service_name(api, label)]
        )
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        return active[0] if active else None

    def counts(self, api: str, label: str) -> tuple[int, int]:
        """The service's (desiredCount, runningCount); (0, 0) once it is gone."""
        service = self.service(api, label)
        return (int(service["desiredCount"]), int(service["runningCount"])) if service else (0, 0)

    def healthy_targets(self, api: str, label: str) -> int:
        elbv2 = self.client("elbv2")
        group = elbv2.describe_target_groups(Names=[ecs_listener.target_group_name(api, label)])["TargetGroups"][0]
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
        return sum(1 for t in health if t["TargetHealth"]["State"] == "healthy")

    def pids(self, api: str, label: str) -> list[int]:
        assert self.stack.ecs is not None
        return self.stack.ecs.pids(ecs_service.service_name(api, label))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (replicas are reaped when they stop)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    with running_stack(Local, tmp_path_factory.mktemp("axon-cache"), SERVICES) as local:
        yield local
