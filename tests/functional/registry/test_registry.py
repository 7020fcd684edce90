from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from axon.local.provision import create_registry_table
from axon.registry import DynamoDBRegistry, Reason, Upload, VersionStatus


@pytest.fixture
def registry() -> Iterator[DynamoDBRegistry]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, "axon-registry")
        yield DynamoDBRegistry("axon-registry", client)


def _upload(api: str = "iris", version_id: str = "AAA") -> Upload:
    return Upload(
        api=api, bucket="axon-models", key=f"apis/{api}/model.tar.gz", version_id=version_id, etag="e", size=7
    )


def test_an_upload_is_registered_once(registry: DynamoDBRegistry) -> None:
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


def test_sequence_numbers_are_per_api(registry: DynamoDBRegistry) -> None:
    registry.register_upload(_upload("iris"))
    other, _ = registry.register_upload(_upload("fraud"))
    assert other.version == "v1"
    assert [a.api for a in registry.list_apis()] == ["fraud", "iris"]


def test_status_changes_are_recorded_on_the_timeline(registry: DynamoDBRegistry) -> None:
    registry.register_upload(_upload())
    reason = Reason(code="bundle.path_traversal", message="member ../x leaves the bundle")
    record = registry.set_status("iris", 1, VersionStatus.FAILED, "refused", reason=reason, traffic_percent=0)
    assert record.status == VersionStatus.FAILED and record.reason == reason
    assert registry.get_version("iris", 1).reason == reason
    statuses = [e.data.get("status") for e in registry.timeline("iris", 1)]
    assert statuses == [None, "failed"]
    assert registry.find_version("iris", "v1") == registry.find_version("iris", "AAA") == record
    assert registry.find_version("iris", "v9") is None


def test_update_version_can_remove_a_field(registry: DynamoDBRegistry) -> None:
    registry.register_upload(_upload())
    registry.update_version("iris", 1, reason=Reason(code="a.b", message="m"), spec={"serving": {"max_concurrency": 2}})
    assert registry.get_version("iris", 1).spec == {"serving": {"max_concurrency": 2}}
    assert registry.update_version("iris", 1, reason=None).reason is None


def test_lease_is_exclusive_idempotent_and_expires(registry: DynamoDBRegistry) -> None:
    registry.register_upload(_upload())
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60, now=1000)
    assert registry.acquire_lease("iris", "exec-a", 1, lease_seconds=60, now=1010)  # same owner: idempotent
    assert not registry.acquire_lease("iris", "exec-b", 2, lease_seconds=60, now=1020)
    assert registry.acquire_lease("iris", "exec-b", 2, lease_seconds=60, now=1071)  # a's lease (to 1070) expired
    assert not registry.release_lease("iris", "exec-a")  # a lost it: releasing is a no-op
    assert registry.transfer_lease("iris", "exec-b", "exec-c", 3, lease_seconds=60)
    assert not registry.transfer_lease("iris", "exec-b", "exec-d", 4, lease_seconds=60)
    api = registry.get_api("iris")
    assert api is not None and (api.lease_owner, api.rolling_seq) == ("exec-c", 3)
    assert registry.release_lease("iris", "exec-c")
    api = registry.get_api("iris")
    assert api is not None and api.lease_owner is None and api.rolling_seq is None


def test_get_version_of_an_unknown_seq_raises(registry: DynamoDBRegistry) -> None:
    with pytest.raises(KeyError):
        registry.get_version("iris", 42)
