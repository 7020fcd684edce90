"""Registry moves a real rollout makes, as script steps and as ready-made histories."""

from collections.abc import Callable

from axon.deps import Deps
from axon.registry import DynamoDBRegistry, Reason, Upload, VersionStatus
from axon.rollout.intake import accept_upload
from axon.settings import Settings
from tests.functional.cli.conftest import BUCKET, client


def intake_of(registry: DynamoDBRegistry, api: str, key: str) -> Callable[[], None]:
    """The OnUpload Lambda's work for the newest object version of ``key`` (the S3 event, delivered)."""

    def run() -> None:
        machine = client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]
        deps = Deps(Settings(state_machine_arn=machine), registry, lambda _: None, client)  # type: ignore[arg-type,return-value]
        newest = client("s3").list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"][0]
        assert newest["IsLatest"]
        accept_upload(deps, BUCKET, key, newest["VersionId"], newest["ETag"], newest["Size"])

    return run


def move(
    registry: DynamoDBRegistry,
    api: str,
    seq: int,
    status: VersionStatus,
    traffic_percent: int | None = None,
    reason: Reason | None = None,
) -> Callable[[], None]:
    def run() -> None:
        if status == VersionStatus.LIVE:
            went_live(registry, api, seq)
        else:
            registry.set_status(api, seq, status, f"now {status.value}", reason=reason, traffic_percent=traffic_percent)

    return run


def upload(registry: DynamoDBRegistry, api: str, body: bytes = b"bundle") -> int:
    """Put an object version under the API's key and register it as the intake would; returns its seq."""
    key = f"apis/{api}/bundle.tar.gz"
    version_id = client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    record, _ = registry.register_upload(Upload(api=api, bucket=BUCKET, key=key, version_id=version_id, size=len(body)))
    return record.seq


def went_live(registry: DynamoDBRegistry, api: str, seq: int, platform: str = "sagemaker") -> None:
    """Finalize as the workflow does: the new version live with its image, the previous one superseded."""
    current = registry.get_api(api)
    registry.set_image(api, seq, f"123.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-{seq}")
    owner = current.lease_owner if current is not None and current.lease_owner else f"rollout-{seq}"
    assert registry.acquire_lease(api, owner, seq, lease_seconds=600)
    previous = current.live_seq if current is not None else None
    registry.go_live(api, seq, owner=owner, platform=platform, previous_seq=previous, label=f"v{seq}")
    assert registry.release_lease(api, owner)


def failed(registry: DynamoDBRegistry, api: str, seq: int, code: str, message: str) -> None:
    registry.set_status(api, seq, VersionStatus.FAILED, message, reason=Reason(code=code, message=message))
