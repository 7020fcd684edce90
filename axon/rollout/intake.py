"""The upload intake: one S3 "Object Created" event -> one version -> one rollout, however often it arrives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from axon import names
from axon.deps import Deps
from axon.registry import Upload, VersionStatus
from axon.rollout.queue import try_start

IntakeResult = Literal["started", "queued", "duplicate", "ignored"]


@dataclass(frozen=True)
class IntakeOutcome:
    result: IntakeResult
    api: str | None = None
    version: str | None = None
    message: str = ""


def accept_upload(deps: Deps, bucket: str, key: str, version_id: str | None, etag: str, size: int) -> IntakeOutcome:
    """Register the upload once (conditional write), then start its rollout or queue it behind the running one.

    A redelivered event finds the version it created the first time: if that version has not started yet (the
    first delivery crashed in between), this delivery finishes the job; else it is a no-op.
    """
    api = names.api_from_key(key)
    if api is None or not names.is_valid_api_name(api):
        return IntakeOutcome("ignored", message=f"{key} is not apis/<api>/<name>.tar.gz with api [a-z0-9-]{{1,40}}")
    if version_id is None:
        return IntakeOutcome("ignored", api, message=f"bucket {bucket} has no versioning: refusing {key}")
    upload = Upload(api=api, bucket=bucket, key=key, version_id=version_id, etag=etag, size=size)
    version, created = deps.registry.register_upload(upload)
    if not created and version.status != VersionStatus.PENDING:
        return IntakeOutcome("duplicate", api, version.version, "this upload already rolled out or is rolling out")
    started = try_start(deps, version)  # idempotent: the same execution name, the same lease owner
    if not created:
        return IntakeOutcome("duplicate", api, version.version, "a redelivered event; its rollout was (re)started once")
    if started:
        return IntakeOutcome("started", api, version.version)
    return IntakeOutcome("queued", api, version.version, "queued behind the running rollout")
