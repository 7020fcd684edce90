"""What falls through the workflow: executions that ended unfinished, stranded uploads, missed S3 events.

Two triggers share this code. The execution-status rule calls :func:`recover_execution` as soon as a rollout
execution ends FAILED, TIMED_OUT or ABORTED (a timeout or an abort cannot be caught in the ASL). The scheduled
reconciler calls :func:`reconcile` every few minutes for whatever that missed: a lease whose execution is gone, a
pending upload nobody started, a version stuck mid-rollout, an upload whose S3 event never arrived. Every action
is one the workflow itself takes, and each is idempotent, so both may run at once and run again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from axon import names
from axon.deps import Deps
from axon.registry import ApiRecord, Reason, VersionRecord, VersionStatus
from axon.registry.models import IN_FLIGHT_STATUSES
from axon.rollout.intake import accept_upload, execution_for, start_execution, try_start
from axon.rollout.release import POST_COMMIT_EVENT, handle_failure, spec_of, tidy_after_commit
from axon.rollout.state import CaughtError, RolloutState

logger = logging.getLogger(__name__)

# A missed S3 event is looked for among uploads this recent; younger ones still have their event on the way.
MISSED_UPLOAD_WINDOW = timedelta(hours=24)
MISSED_UPLOAD_GRACE = timedelta(minutes=2)
MAX_LISTED_OBJECT_VERSIONS = 10_000  # a bound on one run's S3 listing (ten ListObjectVersions pages)

_ENDED_CODES = {
    "FAILED": ("rollout.execution_failed", "the rollout execution failed before it could clean up"),
    "TIMED_OUT": ("rollout.execution_timed_out", "the rollout execution ran past its time limit"),
    "ABORTED": ("rollout.execution_aborted", "the rollout execution was stopped"),
    "MISSING": ("rollout.execution_missing", "the rollout execution that held this version no longer exists"),
}


@dataclass
class ReconcileReport:
    """What one reconciler run did, for its log line and its tests."""

    recovered: list[str] = field(default_factory=list)  # "<api> v<seq>: <status>"
    started: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # uploads whose S3 event was missed
    errors: list[str] = field(default_factory=list)


def recover_execution(deps: Deps, api: str, seq: int, execution: str, status: str) -> None:
    """Clean up after an execution that ended ``status`` without finishing its version: HandleFailure's work,
    with its guards (the live version and another execution's rollout are never touched)."""
    code, message = _ENDED_CODES.get(status, _ENDED_CODES["FAILED"])
    cause = f"{code}: {message} ({status.lower()})"
    state = RolloutState(
        api=api, seq=seq, execution=execution, error=CaughtError.model_validate({"Error": status, "Cause": cause})
    )
    handle_failure(deps, state)


def execution_status(deps: Deps, execution: str) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED... or MISSING when there is no such execution."""
    arn = names.execution_arn(deps.settings.state_machine_arn, execution)
    try:
        return str(deps.client("stepfunctions").describe_execution(executionArn=arn)["status"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return "MISSING"
        raise


def reconcile(deps: Deps, now: datetime | None = None) -> ReconcileReport:
    """One reconciler pass over every API, then over recent uploads. One API's error never stops the others."""
    report = ReconcileReport()
    for api in deps.registry.list_apis():
        try:
            _reconcile_api(deps, api, report)
        except Exception as error:
            logger.exception("reconciling %s failed", api.api)
            report.errors.append(f"{api.api}: {error}")
    try:
        _register_missed_uploads(deps, now or datetime.now(UTC), report)
    except Exception as error:
        logger.exception("looking for missed uploads failed")
        report.errors.append(f"uploads: {error}")
    return report


def _reconcile_api(deps: Deps, api: ApiRecord, report: ReconcileReport) -> None:
    versions = {v.seq: v for v in deps.registry.list_versions(api.api)}
    if api.lease_owner is not None:
        _check_lease(deps, api, versions, report)
        current = deps.registry.get_api(api.api)
        if current is None or current.lease_owner is not None:
            return
        versions = {v.seq: v for v in deps.registry.list_versions(api.api)}
    for version in versions.values():
        if version.status in IN_FLIGHT_STATUSES:  # mid-rollout, yet no lease names it: its execution is gone
            status = execution_status(deps, execution_for(version))
            if status != "RUNNING":
                recover_execution(deps, api.api, version.seq, execution_for(version), status)
                report.recovered.append(f"{api.api} {version.version}: {status}")
    _tidy_live(deps, api, report)
    _start_stranded(deps, api, report)


def _check_lease(deps: Deps, api: ApiRecord, versions: dict[int, VersionRecord], report: ReconcileReport) -> None:
    """The lease names an execution: it must be running, or be started (pending), or be cleaned up after."""
    assert api.lease_owner is not None
    status = execution_status(deps, api.lease_owner)
    if status == "RUNNING":
        return
    held = versions.get(api.rolling_seq) if api.rolling_seq is not None else None
    if held is None or execution_for(held) != api.lease_owner:
        deps.registry.release_lease(api.api, api.lease_owner)  # names no version of ours: nothing to clean
        report.recovered.append(f"{api.api}: released a lease of {api.lease_owner}")
        return
    if status == "MISSING" and held.status == VersionStatus.PENDING:
        start_execution(deps, held)  # the lease was taken and the starter died before StartExecution
        report.started.append(f"{api.api} {held.version}")
        return
    recover_execution(deps, api.api, held.seq, api.lease_owner, status)
    report.recovered.append(f"{api.api} {held.version}: {status}")


def _tidy_live(deps: Deps, api: ApiRecord, report: ReconcileReport) -> None:
    """The live version's tidy-up after the commit failed (its ``post_commit`` event says so): try it again."""
    if api.live_seq is None:
        return
    events = [e for e in deps.registry.timeline(api.api, api.live_seq) if e.kind == POST_COMMIT_EVENT]
    if not events or events[-1].data.get("tidied", True):
        return
    live = deps.registry.get_version(api.api, api.live_seq)
    tidy_after_commit(deps, live, deps.platform_for(spec_of(live).compute.platform))
    deps.registry.add_event(api.api, live.seq, POST_COMMIT_EVENT, "tidied up by the reconciler", {"tidied": True})
    report.recovered.append(f"{api.api} {live.version}: tidied up")


def _start_stranded(deps: Deps, api: ApiRecord, report: ReconcileReport) -> None:
    """No rollout holds the API, yet uploads wait: the newest newer than the live version starts."""
    current = deps.registry.get_api(api.api)
    if current is None or current.lease_held(deps.clock()):
        return
    pending = sorted(
        (v for v in deps.registry.list_versions(api.api) if v.status == VersionStatus.PENDING), key=lambda v: v.seq
    )
    live_seq = current.live_seq or 0
    stale = [v for v in pending if v.seq < live_seq]
    for old in stale:
        deps.registry.set_status(
            api.api,
            old.seq,
            VersionStatus.SUPERSEDED,
            f"skipped: v{live_seq} is newer",
            reason=Reason(code="rollout.superseded", message=f"a newer upload (v{live_seq}) rolled out instead"),
        )
        report.superseded.append(f"{api.api} {old.version}")
    fresh = [v for v in pending if v.seq > live_seq]
    if fresh and try_start(deps, fresh[-1]):
        report.started.append(f"{api.api} {fresh[-1].version}")


def _register_missed_uploads(deps: Deps, now: datetime, report: ReconcileReport) -> None:
    """Uploads from the last day that have no version record: their S3 event never reached the intake."""
    bucket = deps.settings.models_bucket
    paginator = deps.client("s3").get_paginator("list_object_versions")
    found: list[dict[str, Any]] = []
    pages = paginator.paginate(
        Bucket=bucket, Prefix=names.BUNDLE_PREFIX, PaginationConfig={"MaxItems": MAX_LISTED_OBJECT_VERSIONS}
    )
    for page in pages:
        for version in page.get("Versions", []):
            modified = version["LastModified"]
            if now - MISSED_UPLOAD_WINDOW <= modified <= now - MISSED_UPLOAD_GRACE:
                found.append(version)
    for version in sorted(found, key=lambda v: v["LastModified"]):
        key, version_id = version["Key"], version["VersionId"]
        api = names.api_from_key(key)
        if api is None or not key.endswith(names.BUNDLE_SUFFIX) or version_id in (None, "null"):
            continue
        outcome = accept_upload(deps, bucket, key, version_id, str(version.get("ETag", "")), int(version["Size"]))
        if outcome.result in ("started", "queued"):
            report.registered.append(f"{api} {outcome.version}")
