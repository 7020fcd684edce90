"""Registry records built by hand, for the pure CLI rules."""

from axon.registry import ApiRecord, Reason, VersionRecord, VersionStatus

T0 = "2024-05-01T12:00:00.000Z"


def version(
    seq: int,
    status: VersionStatus,
    *,
    traffic: int = 0,
    reason: Reason | None = None,
    image: bool = True,
    updated: str = T0,
) -> VersionRecord:
    return VersionRecord(
        api="iris",
        seq=seq,
        version=f"v{seq}",
        version_id=f"id{seq}",
        bucket="axon-models",
        key="apis/iris/bundle.tar.gz",
        s3_uri=f"s3://axon-models/apis/iris/bundle.tar.gz?versionId=id{seq}",
        status=status,
        traffic_percent=traffic,
        reason=reason,
        image_uri=f"repo:rt-{seq}" if image else "",
        created_at=T0,
        updated_at=updated,
    )


def api(**fields: object) -> ApiRecord:
    return ApiRecord.model_validate({"api": "iris", "created_at": T0, "updated_at": T0, **fields})
