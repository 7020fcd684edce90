"""The upload intake and the per-API queue: one S3 "Object Created" event -> one version -> one rollout, however
often it arrives, and one rollout per API at a time, the newest queued upload next.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import ClientError

from axon import names
from axon.deps import Deps
from axon.errors import TransientError
from axon.registry import LeaseMove, Reason, Upload, VersionRecord, VersionStatus

logger = logging.getLogger(__name__)
_HAND_OFF_ATTEMPTS = 5  # uploads registering at that rate would be a storm; the step's retry takes over


def execution_for(version: VersionRecord) -> str:
    return names.execution_name(version.bucket, version.key, version.version_id)


def rollout_input(version: VersionRecord) -> dict[str, object]:
    """The execution input; derived from the record alone so every starter sends the same (idempotent start)."""
    return {"api": version.api, "seq": version.seq, "execution": execution_for(version)}


def start_execution(deps: Deps, version: VersionRecord) -> None:
    """StartExecution with the deterministic name; an execution that already exists is this very rollout."""
    try:
        deps.client("stepfunctions").start_execution(
            stateMachineArn=deps.settings.state_machine_arn,
            name=execution_for(version),
            input=json.dumps(rollout_input(version)),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        logger.info("execution %s already exists", execution_for(version))


def try_start(deps: Deps, version: VersionRecord) -> bool:
    """Start ``version`` if it can take the API's lease; otherwise leave it queued. Returns whether it started."""
    owner = execution_for(version)
    if deps.registry.acquire_lease(version.api, owner, version.seq, deps.settings.lease_seconds):
        start_execution(deps, version)
        return True
    if not version.queued:
        deps.registry.mark_queued(version.api, version.seq)
        deps.registry.add_event(version.api, version.seq, "queued", "another rollout of this API is running")
    return False


def _supersede_older(deps: Deps, api: str, pending: list[VersionRecord], winner: str) -> None:
    for skipped in pending:
        deps.registry.set_status(
            api,
            skipped.seq,
            VersionStatus.SUPERSEDED,
            f"skipped: {winner} is newer",
            reason=Reason(code="rollout.superseded", message=f"a newer upload ({winner}) rolled out instead"),
        )


def finish_and_start_next(deps: Deps, api: str, seq: int, owner: str) -> VersionRecord | None:
    """End the rollout ``seq`` of ``api``: the newest upload queued after it starts, older queued ones are skipped.

    The lease is released or handed on in one write that is conditional on the API's count of registered uploads,
    so an upload that registers while this runs (and finds the lease held, so queues itself) makes the write fail
    and is seen on the next look: no upload is ever left queued behind a lease nobody holds.
    """
    for _ in range(_HAND_OFF_ATTEMPTS):
        record = deps.registry.get_api(api)
        counted = record.registered_uploads if record is not None else 0
        pending = [v for v in deps.registry.list_versions(api) if v.status == VersionStatus.PENDING and v.seq != seq]
        newer = [v for v in pending if v.seq > seq]
        successor = max(newer, key=lambda v: v.seq) if newer else None
        winner = f"v{successor.seq}" if successor else f"v{seq}"
        _supersede_older(deps, api, [v for v in pending if successor is None or v.seq != successor.seq], winner)
        moved = deps.registry.hand_lease_on(
            api,
            owner,
            registered_uploads=counted,
            successor=execution_for(successor) if successor else None,
            successor_seq=successor.seq if successor else None,
            lease_seconds=deps.settings.lease_seconds,
        )
        if moved == LeaseMove.RACED:
            continue
        if moved == LeaseMove.LOST:
            logger.info("%s no longer holds the lease of %s: its holder starts what is queued", owner, api)
            return None
        if successor is not None:
            start_execution(deps, successor)
        return successor
    raise TransientError(f"uploads of {api} kept registering while its lease was handed on; trying again")


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
