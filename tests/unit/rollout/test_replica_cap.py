"""The platform-wide replica cap counts a deploy's starting replicas, a first deploy's included (issue 14)."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from axon.errors import AxonError
from axon.platforms.base import Capacity
from axon.rollout import prepare, release
from axon.rollout.intake import accept_upload, execution_for
from axon.rollout.prepare import ReplicaCapError, check_replica_cap
from axon.rollout.state import RolloutState
from axon.spec import ApiSpec, load_spec_text
from tests.unit.bundle.builder import valid
from tests.unit.rollout.twins import TwinClients, TwinPlatform, World, world


@dataclass
class CountingPlatform(TwinPlatform):
    """The twin platform, with each API's live replica count as the platform would report it."""

    replicas: dict[str, int] = field(default_factory=dict)

    def capacity(self, api: str) -> Capacity | None:
        count = self.replicas.get(api)
        return None if count is None else Capacity("blue", count, count, can_change=True)


def _live(w: World, api: str, spec: dict[str, Any]) -> None:
    """Take ``api`` through intake, validation's record, deploy and commit, so the registry lists it live."""
    outcome = accept_upload(w.deps, "axon-models", f"apis/{api}/bundle.tar.gz", f"{api}-v1", "etag", 1)
    assert outcome.version is not None
    seq = int(outcome.version.removeprefix("v"))
    w.registry.record_validation(
        api,
        seq,
        spec=ApiSpec.model_validate(spec),
        spec_digest="d",
        image_key="k",
        model_data_uri=f"s3://axon-models/versions/{api}",
    )
    w.registry.set_image(api, seq, "image:1")
    state = RolloutState(api=api, seq=seq, execution=execution_for(w.registry.get_version(api, seq)))
    release.deploy(w.deps, state)
    state = release.finalize(w.deps, state)
    release.complete(w.deps, state)
    record = w.registry.get_api(api)
    assert record is not None and record.live_seq == seq


@pytest.fixture
def fleet() -> tuple[World, CountingPlatform]:
    """Two live APIs running 6 and 3 replicas."""
    w = world()
    platform = CountingPlatform(replicas={"big": 6, "small": 3})
    w.deps.platform_for = lambda _: platform
    _live(w, "big", {"autoscaling": {"min_replicas": 6, "max_replicas": 6}})
    _live(w, "small", {})
    return w, platform


def check(w: World, api: str, spec: str, cap: int) -> None:
    check_replica_cap(api, load_spec_text(spec), registry=w.registry, platform_for=w.deps.platform_for, cap=cap)


def test_a_first_deploy_counts_against_the_cap(fleet: tuple[World, CountingPlatform]) -> None:
    w, _ = fleet
    check(w, "new", "autoscaling: {min_replicas: 1}", cap=10)  # 9 + 1
    with pytest.raises(ReplicaCapError) as caught:
        check(w, "new", "autoscaling: {min_replicas: 2, max_replicas: 4}", cap=10)  # 9 + 2
    assert caught.value.code == "rollout.replica_cap"
    assert "starts 2 replicas" in caught.value.message and "9 replicas other APIs run" in caught.value.message


def test_init_replicas_is_what_a_first_deploy_starts(fleet: tuple[World, CountingPlatform]) -> None:
    w, _ = fleet
    with pytest.raises(ReplicaCapError):
        check(w, "new", "autoscaling: {min_replicas: 0, init_replicas: 5}", cap=12)


def test_an_update_that_keeps_its_count_passes_even_over_the_cap(fleet: tuple[World, CountingPlatform]) -> None:
    """Blue-green starts green at blue's count: nothing grows, so a fix can ship after the cap was lowered."""
    w, _ = fleet
    check(w, "big", "autoscaling: {min_replicas: 1, max_replicas: 6}", cap=5)


def test_an_update_that_grows_its_count_is_checked(fleet: tuple[World, CountingPlatform]) -> None:
    w, _ = fleet
    check(w, "small", "autoscaling: {min_replicas: 4}", cap=10)  # 6 + 4
    with pytest.raises(ReplicaCapError):
        check(w, "small", "autoscaling: {min_replicas: 5}", cap=10)  # 6 + 5


def test_an_api_with_nothing_deployed_counts_zero(fleet: tuple[World, CountingPlatform]) -> None:
    w, platform = fleet
    del platform.replicas["big"]
    check(w, "new", "autoscaling: {min_replicas: 7, max_replicas: 7}", cap=10)  # 3 + 7


class BundleClients(TwinClients):
    """The twin clients plus the two S3 calls validation makes: read the upload, copy it (recorded)."""

    def __init__(self, bundle: bytes) -> None:
        super().__init__()
        self.bundle = bundle
        self.copies: list[str] = []

    def get_object(self, Bucket: str, Key: str, VersionId: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.bundle)}

    def copy(self, source: dict[str, str], bucket: str, key: str, Config: Any = None) -> None:
        self.copies.append(key)


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("autoscaling: {min_replicas: 2, max_replicas: 4}", "rollout.replica_cap"),
        ("compute: {instance_type: ml.x1e.32xlarge}", "spec.instance_type_not_allowed"),
        ("autoscaling: {max_replicas: 11}", "spec.replicas_over_cap"),
    ],
)
def test_validation_refuses_before_copying_anything(
    fleet: tuple[World, CountingPlatform], spec: str, code: str
) -> None:
    w, _ = fleet
    w.deps.settings = dataclasses.replace(w.deps.settings, max_total_replicas=10)
    clients = BundleClients(valid(spec=spec).build())
    w.deps.client = clients
    outcome = accept_upload(w.deps, "axon-models", "apis/new/bundle.tar.gz", "new-v1", "etag", 1)
    assert outcome.version is not None
    seq = int(outcome.version.removeprefix("v"))
    state = RolloutState(api="new", seq=seq, execution=execution_for(w.registry.get_version("new", seq)))
    with pytest.raises(AxonError) as caught:
        prepare.validate(w.deps, state)
    assert caught.value.code == code
    assert clients.copies == []
    clients.bundle = valid(spec="autoscaling: {min_replicas: 1, max_replicas: 4}").build()
    prepare.validate(w.deps, state)  # within every bound: validated and copied
    assert len(clients.copies) == 1


@pytest.mark.parametrize(
    "spec",
    [
        "kind: async",  # realtime -> async on SageMaker: the endpoint would stop taking InvokeEndpoint
        "compute: {platform: ecs, instance_type: g5.xlarge}",  # SageMaker -> ECS: the endpoint would be stranded
    ],
)
def test_a_version_of_another_kind_or_platform_is_refused_before_anything_is_copied(
    fleet: tuple[World, CountingPlatform], spec: str
) -> None:
    w, _ = fleet
    clients = BundleClients(valid(spec=spec).build())
    w.deps.client = clients
    live_before = w.registry.get_api("small")
    assert live_before is not None
    outcome = accept_upload(w.deps, "axon-models", "apis/small/bundle.tar.gz", "small-v2", "etag", 2)
    assert outcome.version is not None
    seq = int(outcome.version.removeprefix("v"))
    state = RolloutState(api="small", seq=seq, execution=execution_for(w.registry.get_version("small", seq)))
    with pytest.raises(AxonError) as caught:
        prepare.validate(w.deps, state)
    assert caught.value.code == "rollout.serving_change"
    assert "axon delete small" in caught.value.message
    assert clients.copies == []
    live_after = w.registry.get_api("small")
    assert live_after is not None and live_after.live_seq == live_before.live_seq
    clients.bundle = valid(spec="autoscaling: {max_replicas: 4}").build()
    prepare.validate(w.deps, state)  # the same kind on the same platform: validated
    assert len(clients.copies) == 1
