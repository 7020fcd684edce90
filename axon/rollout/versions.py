"""From registry records to what platforms see."""

from __future__ import annotations

from axon.names import immutable_bundle_key as immutable_bundle_key  # its users import it from here too
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
