"""From registry records to what platforms see."""

from __future__ import annotations

import hashlib
import json

from axon.names import immutable_bundle_key as immutable_bundle_key  # its users import it from here too
from axon.platforms.base import VersionRef
from axon.registry import VersionRecord
from axon.spec import ApiSpec


def spec_of(record: VersionRecord) -> ApiSpec:
    """The record's spec, parsed when the record was read; the default spec before validation recorded one."""
    return record.spec if record.spec is not None else ApiSpec()


def spec_digest(spec: ApiSpec) -> str:
    """The version's ``spec_digest``: the first 16 hex digits of the SHA-256 of its JSON dump, keys sorted."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def version_ref(record: VersionRecord) -> VersionRef:
    return VersionRef(
        api=record.api,
        label=record.version,
        spec=spec_of(record),
        image_uri=record.image_uri,
        model_data_uri=record.model_data_uri,
        signal_key=record.signal_key,
    )
