"""``axon.admin.delete_api``: the whole of ``axon delete`` but the CLI's checks, on both registries and stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon.admin import DELETED_MESSAGE, delete_api
from axon.autoscaler.dynamodb import DynamoDbScalerStateStore
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, InMemoryScalerStateStore, ScalerStateStore
from axon.deps import Deps
from axon.registry import DynamoDBRegistry, InMemoryRegistry, Registry, Upload, VersionStatus
from axon.settings import Settings
from axon_local.provision import create_registry_table
from tests.unit.autoscaler.fakes import FakePlatform

TABLE = "axon-registry"


@dataclass
class TearDownPlatform(FakePlatform):
    deleted: list[str] = field(default_factory=list)

    def delete_api(self, api: str) -> None:
        self.deleted.append(api)


@dataclass
class World:
    deps: Deps
    store: ScalerStateStore
    platform: TearDownPlatform
    passed_store: ScalerStateStore | None  # None: delete_api builds the DynamoDB store itself


@pytest.fixture(params=["dynamodb", "memory"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    platform = TearDownPlatform()
    if request.param == "memory":
        memory = InMemoryScalerStateStore()
        deps = Deps(Settings(registry_table=TABLE), InMemoryRegistry(), lambda _: platform, _no_client)
        yield World(deps, memory, platform, memory)
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, TABLE)
        deps = Deps(
            Settings(registry_table=TABLE), DynamoDBRegistry(TABLE, client), lambda _: platform, lambda _: client
        )
        yield World(deps, DynamoDbScalerStateStore(TABLE, client), platform, None)


def _no_client(service: str) -> Any:
    raise AssertionError(f"the in-memory world calls no {service}")


def _live(registry: Registry, api: str, count: int) -> None:
    """``count`` uploads of ``api``, each gone live in turn (the last one live)."""
    for n in range(count):
        upload = Upload(api=api, bucket="b", key=f"apis/{api}/bundle.tar.gz", version_id=f"{api}{n}", size=1)
        record, _ = registry.register_upload(upload)
        registry.set_image(api, record.seq, f"repo:rt-{record.seq}")
        assert registry.acquire_lease(api, "owner", record.seq, lease_seconds=600)
        previous = registry.get_api(api)
        live = previous.live_seq if previous is not None else None
        registry.go_live(api, record.seq, owner="owner", platform="sagemaker", previous_seq=live, label=record.version)
        assert registry.release_lease(api, "owner")


def _scaled(store: ScalerStateStore, api: str, decisions: int) -> None:
    store.save(api, ScalerState(), expected_revision=None)
    for minute in range(decisions):
        at = f"2024-05-01T12:{minute:02d}:00+00:00"
        store.record(DecisionRecord(api, "v-1", at, 1, 2, 1, "load", "scale_out", True, False, False, False, 1.0))


def test_delete_tears_down_forgets_scaling_and_marks_deleted(world: World) -> None:
    registry = world.deps.registry
    _live(registry, "iris", 2)
    _live(registry, "wine", 1)
    _scaled(world.store, "iris", 30)
    _scaled(world.store, "wine", 1)

    delete_api(world.deps, "iris", world.passed_store)

    assert world.platform.deleted == ["iris"]
    api = registry.get_api("iris")
    assert api is not None and api.deleted and api.live_seq is None
    last = registry.get_version("iris", 2)
    assert last.status == VersionStatus.SUPERSEDED and last.traffic_percent == 0 and last.reason is None
    assert any(e.message == DELETED_MESSAGE for e in registry.timeline("iris", 2))
    assert [v.status for v in registry.list_versions("iris")] == [VersionStatus.SUPERSEDED] * 2
    assert world.store.load(["iris", "wine"]).keys() == {"wine"}
    other = registry.get_api("wine")
    assert other is not None and not other.deleted and other.live_seq == 1


def test_delete_again_and_delete_of_nothing_live_are_harmless(world: World) -> None:
    _live(world.deps.registry, "iris", 1)
    delete_api(world.deps, "iris", world.passed_store)
    delete_api(world.deps, "iris", world.passed_store)
    delete_api(world.deps, "ghost", world.passed_store)
    api = world.deps.registry.get_api("iris")
    assert api is not None and api.deleted
    assert world.platform.deleted == ["iris", "iris"]
