"""From registry records to what platforms see."""

from __future__ import annotations

from axon.platforms.base import VersionRef
from axon.registry import VersionRecord
from axon.spec import ApiSpec


def spec_of(record: VersionRecord) -> ApiSpec:
    return ApiSpec.model_validate(record.spec or {})


def version_ref(record: VersionRecord) -> VersionRef:
    return VersionRef(
        api=record.api,
        label=record.version,
        spec=spec_of(record),
        image_uri=record.image_uri,
        model_data_uri=record.model_data_uri,
        signal_key=record.signal_key,
    )


def immutable_bundle_key(api: str, label: str) -> str:
    """Where a validated bundle is copied: SageMaker's ModelDataUrl cannot name an S3 VersionId, and the upload
    key may be overwritten by the next upload, so each version reads its own copy."""
    return f"versions/{api}/{label}/bundle.tar.gz"
