"""In-memory twins for unit tests of the rollout steps: a blue-green platform and the AWS clients the steps use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from axon.deps import Deps
from axon.platforms.base import Capacity, DeploymentPhase, DeploymentStatus, Platform, VersionRef
from axon.registry import InMemoryRegistry, Upload
from axon.settings import Settings

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:axon-rollout"


@dataclass
class TwinPlatform(Platform):
    """One API's blue-green state: which labels have resources and which one takes the traffic."""

    versions: set[str] = field(default_factory=set)
    serving: str | None = None
    calls: list[str] = field(default_factory=list)
    name: str = "sagemaker"

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        self.calls.append(f"deploy {version.label}")
        self.versions.add(version.label)
        self.serving = version.label

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        self.calls.append(f"rollback {version.label}")
        if self.serving == version.label:
            self.serving = previous.label if previous else None

    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        self.calls.append(f"retire {previous.label if previous else None}")

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        return b"{}"

    def remove_version(self, version: VersionRef) -> None:
        self.calls.append(f"remove {version.label}")
        self.versions.discard(version.label)

    def capacity(self, api: str) -> Capacity | None:
        return None

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        raise NotImplementedError

    def delete_api(self, api: str) -> None:
        self.versions.clear()
        self.serving = None


@dataclass
class TwinClients:
    """Step Functions (executions by name, with a status), EventBridge (events put) and S3 object versions, as the
    steps use them."""

    executions: dict[str, str] = field(default_factory=dict)  # name -> status
    events: list[dict[str, Any]] = field(default_factory=list)
    object_versions: list[dict[str, Any]] = field(default_factory=list)  # what ListObjectVersions lists

    def __call__(self, service: str) -> Any:
        return self

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if name in self.executions:
            raise ClientError({"Error": {"Code": "ExecutionAlreadyExists", "Message": name}}, "StartExecution")
        self.executions[name] = "RUNNING"
        return {"executionArn": f"{stateMachineArn}:{name}"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        name = executionArn.rsplit(":", 1)[1]
        if name not in self.executions:
            raise ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": name}}, "DescribeExecution")
        return {"status": self.executions[name]}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_object_versions"
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        return [{"Versions": self.object_versions}]

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.events.extend(Entries)
        return {"FailedEntryCount": 0}


@dataclass
class World:
    deps: Deps
    registry: InMemoryRegistry
    platform: TwinPlatform
    clients: TwinClients


def world(registry: InMemoryRegistry | None = None) -> World:
    registry = registry or InMemoryRegistry()
    platform, clients = TwinPlatform(), TwinClients()
    deps = Deps(
        settings=Settings(state_machine_arn=MACHINE, lease_seconds=3600),
        registry=registry,
        platform_for=lambda _: platform,
        client=clients,
        clock=registry.clock,
    )
    return World(deps, registry, platform, clients)


def upload(version_id: str, api: str = "iris") -> Upload:
    return Upload(api=api, bucket="axon-models", key=f"apis/{api}/bundle.tar.gz", version_id=version_id, size=1)
