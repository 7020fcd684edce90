import hashlib
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from axon.registry import DynamoDBRegistry, InMemoryRegistry, LeaseMove, Reason, Registry, Upload, VersionStatus, keys
from axon.registry.writes import ConditionFailedError, Key, Put
from axon.spec import ApiSpec, load_spec_text
from axon_local.provision import create_registry_table
from tests.unit.rollout.test_versions import FULL_SPEC


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["dynamodb", "memory"])
def registry(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Registry]:
    """Every test runs on both stores: the in-memory one must decide exactly what DynamoDB decides."""
    if request.param == "memory":
        yield InMemoryRegistry(clock)
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, "axon-registry")
        yield DynamoDBRegistry("axon-registry", client, clock)


def _upload(api: str = "iris", version_id: str = "AAA") -> Upload:
    return Upload(
        api=api, bucket="axon-models", key=f"apis/{api}/model.tar.gz", version_id=version_id, etag="e", size=7
    )


def test_an_upload_is_registered_once(registry: Registry) -> None:
    first, created = registry.register_upload(_upload())
    again, created_again = registry.register_upload(_upload())
    assert created and not created_again
    assert first == again
    assert (first.seq, first.version, first.status) == (1, "v1", VersionStatus.PENDING)
    assert first.s3_uri == "s3://axon-models/apis/iris/model.tar.gz?versionId=AAA"
    second, _ = registry.register_upload(_upload(version_id="BBB"))
    assert second.version == "v2"
    assert [v.version for v in registry.list_versions("iris")] == ["v1", "v2"]
    assert [e.kind for e in registry.timeline("iris", 1)] == ["uploaded"]


def test_sequence_numbers_are_per_api(registry: Registry) -> None:
    registry.register_upload(_upload("iris"))
    other, _ = registry.register_upload(_upload("fraud"))
    assert other.version == "v1"
    assert [a.api for a in registry.list_apis()] == ["fraud", "iris"]


def test_each_api_gets_one_secret_signal_key_that_every_version_carries(registry: Registry) -> None:
    """The autoscaler reads only datapoints with it (names.in_flight_dimensions); it stays for the API's life."""
    v1, _ = registry.register_upload(_upload("iris"))
    v2, _ = registry.register_upload(_upload("iris", version_id="BBB"))
    other, _ = registry.register_upload(_upload("fraud"))
    iris = registry.get_api("iris")
    assert iris is not None and len(iris.signal_key) == 32 and int(iris.signal_key, 16) >= 0
    assert v1.signal_key == v2.signal_key == iris.signal_key != other.signal_key


def test_status_changes_are_recorded_on_the_timeline(registry: Registry) -> None:
    registry.register_upload(_upload())
    reason = Reason(code="bundle.path_traversal", message="member ../x leaves the bundle")
    record = registry.set_status("iris", 1, VersionStatus.FAILED, "refused", reason=reason, traffic_percent=0)
    assert record.status == VersionStatus.FAILED and record.reason == reason
    assert registry.get_version("iris", 1).reason == reason
    statuses = [e.data.get("status") for e in registry.timeline("iris", 1)]
    assert statuses == [None, "failed"]
    assert registry.find_version("iris", "v1") == registry.find_version("iris", "AAA") == record
    assert registry.find_version("iris", "v9") is None


def test_events_written_in_the_same_millisecond_keep_their_order(registry: Registry) -> None:
    """Regression: a random tiebreak once reordered events that shared a millisecond timestamp."""
    registry.register_upload(_upload())
    for n in range(60):
        registry.add_event("iris", 1, "step", f"event {n}")
    messages = [e.message for e in registry.timeline("iris", 1) if e.kind == "step"]
    assert messages == [f"event {n}" for n in range(60)]


def test_validation_is_recorded_and_a_new_status_clears_the_old_reason(registry: Registry) -> None:
    registry.register_upload(_upload())
    registry.set_status("iris", 1, VersionStatus.FAILED, "x", reason=Reason(code="a.b", message="m"))
    spec = ApiSpec.model_validate({"serving": {"max_concurrency": 2}})
    registry.record_validation("iris", 1, spec=spec, spec_digest="d", image_key="k", model_data_uri="s3://b/k")
    record = registry.get_version("iris", 1)
    assert (record.spec, record.image_key, record.model_data_uri) == (spec, "k", "s3://b/k")
    assert registry.set_status("iris", 1, VersionStatus.BUILDING, "building").reason is None


def test_lease_is_exclusive_idempotent_and_expires(registry: Registry, clock: Clock) -> None:
    registry.register_upload(_upload())
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60)
    clock.now = 1010
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60)  # same owner: idempotent, to 1070
    clock.now = 1020
    assert not registry.acquire_lease("iris", "exec-b", 2, lease_seconds=60)
    clock.now = 1071
    assert registry.acquire_lease("iris", "exec-b", 2, lease_seconds=60)  # a's lease (to 1070) expired
    assert not registry.release_lease("iris", "exec-a")  # a lost it: releasing is a no-op
    counted = _counted(registry)
    moved = registry.hand_lease_on("iris", "exec-b", registered_uploads=counted, successor="exec-c", successor_seq=3)
    assert moved == LeaseMove.MOVED
    lost = registry.hand_lease_on("iris", "exec-b", registered_uploads=counted, successor="exec-d", successor_seq=4)
    assert lost == LeaseMove.LOST
    api = registry.get_api("iris")
    assert api is not None and (api.lease_owner, api.rolling_seq) == ("exec-c", 3)
    assert registry.release_lease("iris", "exec-c")
    api = registry.get_api("iris")
    assert api is not None and api.lease_owner is None and api.rolling_seq is None


def _counted(registry: Registry) -> int:
    api = registry.get_api("iris")
    assert api is not None
    return api.registered_uploads


def test_a_hand_off_races_with_an_upload_registered_after_the_count(registry: Registry) -> None:
    """The stranded-upload bug: an upload that registers between the holder's look and its release must make the
    release fail, so the holder looks again and starts it."""
    registry.register_upload(_upload())
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60)
    counted = _counted(registry)
    registry.register_upload(_upload(version_id="BBB"))  # registers while exec-a hands its lease on
    assert registry.hand_lease_on("iris", "exec-a", registered_uploads=counted) == LeaseMove.RACED
    assert registry.hand_lease_on("iris", "exec-a", registered_uploads=_counted(registry)) == LeaseMove.MOVED


def test_going_live_is_one_transaction_only_the_lease_holder_commits(registry: Registry) -> None:
    registry.register_upload(_upload())
    registry.register_upload(_upload(version_id="BBB"))
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60)
    registry.go_live("iris", 1, owner="exec-a", platform="sagemaker", previous_seq=None, label="v1")
    assert registry.release_lease("iris", "exec-a")
    with pytest.raises(ConditionFailedError):  # exec-b never held the lease
        registry.go_live("iris", 2, owner="exec-b", platform="sagemaker", previous_seq=1, label="v2")
    assert registry.get_version("iris", 2).status == VersionStatus.PENDING  # nothing of the transaction applied
    assert registry.get_version("iris", 1).status == VersionStatus.LIVE
    assert registry.acquire_lease("iris", "exec-b", 2, lease_seconds=60)
    for _ in range(2):  # committing again (a retried step) is a no-op
        registry.go_live("iris", 2, owner="exec-b", platform="sagemaker", previous_seq=1, label="v2")
    api = registry.get_api("iris")
    assert api is not None and api.live_seq == 2
    assert [v.status for v in registry.list_versions("iris")] == [VersionStatus.SUPERSEDED, VersionStatus.LIVE]


def test_a_deleted_api_is_hidden_until_its_next_upload(registry: Registry) -> None:
    registry.register_upload(_upload())
    registry.mark_deleted("iris")
    assert registry.list_apis() == []
    assert [a.api for a in registry.list_apis(include_deleted=True)] == ["iris"]
    registry.register_upload(_upload(version_id="BBB"))
    assert [a.api for a in registry.list_apis()] == ["iris"]


def test_get_version_of_an_unknown_seq_raises(registry: Registry) -> None:
    with pytest.raises(KeyError):
        registry.get_version("iris", 42)


# FULL_SPEC, stored by the code before the spec was typed on the record (issue 11): the item's spec attribute must
# stay byte for byte what it was (sha256 of the stored JSON string, pinned then), except for spec fields added since
# with their defaults (issue 15: kind, async).
_STORED_SHA256 = {
    "default": "bff73b9b77f763bc083e9e0ea4b32646b8881f4b135079eec297bcb1b5339180",
    "full": "c07ec6b99388363fec29d09eb907beadf1bb701a8fc6855d8400dde68864ee5c",
}


def _version_item_key(seq: int = 1) -> Key:
    return Key(keys.api_pk("iris"), keys.version_sk(seq))


@pytest.mark.parametrize("which", ["default", "full"])
def test_the_stored_spec_is_the_same_json_string_as_before_the_spec_was_typed(registry: Registry, which: str) -> None:
    spec = ApiSpec() if which == "default" else load_spec_text(FULL_SPEC)
    registry.register_upload(_upload())
    written = registry.record_validation("iris", 1, spec=spec, spec_digest="d", image_key="k", model_data_uri="m")
    item = registry._get(_version_item_key())
    assert item is not None
    stored = item["spec"]
    assert isinstance(stored, str)
    assert stored == json.dumps(spec.model_dump(mode="json"))
    assert hashlib.sha256(stored.encode()).hexdigest() == _STORED_SHA256[which]
    assert written.spec == spec
    assert registry.get_version("iris", 1).spec == spec
    assert [v.spec for v in registry.list_versions("iris")] == [spec]


def test_a_version_before_validation_has_no_spec_stored(registry: Registry) -> None:
    registry.register_upload(_upload())
    item = registry._get(_version_item_key())
    assert item is not None and "spec" not in item
    assert registry.get_version("iris", 1).spec is None


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps({"serving": {"max_concurrency": 2}}),  # a partial dump, as older code might have stored
        {"serving": {"max_concurrency": 2}},  # a map rather than a JSON string
    ],
    ids=["partial-json-string", "map"],
)
def test_older_version_items_still_load(registry: Registry, stored: object) -> None:
    registry.register_upload(_upload())
    item = registry._get(_version_item_key())
    assert item is not None
    registry._write([Put(_version_item_key(), {**item, "spec": stored})])
    record = registry.get_version("iris", 1)
    assert record.spec == ApiSpec.model_validate({"serving": {"max_concurrency": 2}})
    assert record.spec is not None and record.spec.serving.max_concurrency == 2
