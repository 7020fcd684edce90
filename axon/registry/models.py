"""Registry records: APIs, versions and their rollout timelines (what `axon history -o json` prints)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from axon.spec import ApiSpec


class VersionStatus(StrEnum):
    PENDING = "pending"
    VALIDATING = "validating"
    BUILDING = "building"
    DEPLOYING = "deploying"
    SHIFTING = "shifting"
    LIVE = "live"
    SUPERSEDED = "superseded"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {VersionStatus.LIVE, VersionStatus.SUPERSEDED, VersionStatus.ROLLED_BACK, VersionStatus.FAILED}
IN_FLIGHT_STATUSES = frozenset(set(VersionStatus) - _FINAL - {VersionStatus.PENDING})


class Reason(BaseModel):
    """Why a version failed or was rolled back: a stable code and one human line."""

    model_config = ConfigDict(frozen=True)
    code: str
    message: str


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Upload(BaseModel):
    """An S3 object version that should roll out."""

    model_config = ConfigDict(frozen=True)
    api: str
    bucket: str
    key: str
    version_id: str
    etag: str = ""
    size: int = 0

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}?versionId={self.version_id}"


class VersionRecord(BaseModel):
    model_config = ConfigDict(frozen=True)
    api: str
    seq: int
    version: str  # readable label, "v<seq>"
    version_id: str  # S3 VersionId of the uploaded bundle
    bucket: str
    key: str
    s3_uri: str
    etag: str = ""
    size: int = 0
    status: VersionStatus = VersionStatus.PENDING
    reason: Reason | None = None
    spec_digest: str = ""
    spec: ApiSpec | None = None  # parsed once on read; stored as a JSON string (registry.base._version_item)
    image_key: str = ""
    image_uri: str = ""
    model_data_uri: str = ""  # immutable copy of the bundle that the platform reads
    traffic_percent: int = 0
    execution_name: str = ""
    queued: bool = False
    signal_key: str = ""  # the API's signal key when this version was registered; "" before signal keys existed
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)

    def history_view(self) -> dict[str, Any]:
        """The fields `axon history -o json` prints (fixed by the issues)."""
        return {
            "version": self.version,
            "version_id": self.version_id,
            "status": self.status.value,
            "reason": self.reason.model_dump() if self.reason else None,
            "s3_uri": self.s3_uri,
            "image_uri": self.image_uri,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "traffic_percent": self.traffic_percent,
        }


class ApiRecord(BaseModel):
    model_config = ConfigDict(frozen=True)
    api: str
    live_seq: int | None = None
    rolling_seq: int | None = None
    lease_owner: str | None = None
    lease_expires_at: int | None = None  # epoch seconds
    next_seq: int = 0
    registered_uploads: int = 0  # uploads registered so far: lease hand-offs are conditional on it
    platform: str = "sagemaker"
    signal_key: str = ""  # names.SIGNAL_KEY_ENV: only the API's replicas and the autoscaler know it
    deleted: bool = False
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)

    def lease_held(self, now: float) -> bool:
        """A rollout holds the API now: an expired lease belongs to an execution that is gone."""
        return self.lease_owner is not None and (self.lease_expires_at is None or self.lease_expires_at > now)


class TimelineEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    api: str
    seq: int
    at: str
    kind: str  # e.g. "uploaded", "status", "progress", "error"
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
