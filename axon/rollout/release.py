"""Workflow steps that move traffic: deploy, watch the shift, smoke test, then finalize or undo.

Also what those steps (and the CLI) read off a version record: its spec, the :class:`VersionRef` platforms see,
and the retention rule: the workflow prunes every version but the last :data:`KEEP_VERSIONS` that went live (and
were deployed, so have an image); ``axon rollback`` may only return to one of those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from axon.deps import Deps
from axon.errors import AxonError
from axon.platforms.base import DeploymentPhase, DeploymentStatus, Platform, VersionRef
from axon.platforms.errors import SmokeTestFailedError
from axon.registry import Reason, VersionRecord, VersionStatus
from axon.registry.writes import ConditionFailedError
from axon.rollout.events import notify
from axon.rollout.intake import finish_and_start_next
from axon.rollout.state import CaughtError, Outcome, RolloutState, StaleRolloutError
from axon.spec import ApiSpec

KEEP_VERSIONS = 3  # models/configs kept for rollback: the live version and the two before it


def went_live(version: VersionRecord) -> bool:
    """Live now, or replaced after serving (a skipped upload is superseded too, but with a reason)."""
    return version.status == VersionStatus.LIVE or (
        version.status == VersionStatus.SUPERSEDED and version.reason is None
    )


def _served(versions: Iterable[VersionRecord]) -> list[VersionRecord]:
    """Versions that went live with an image (so got platform resources), oldest first."""
    return sorted((v for v in versions if went_live(v) and v.image_uri), key=lambda v: v.seq)


def kept(versions: Iterable[VersionRecord]) -> set[int]:
    """Sequence numbers whose platform resources are kept: the last ``KEEP_VERSIONS`` that went live."""
    return {v.seq for v in _served(versions)[-KEEP_VERSIONS:]}


def to_prune(versions: Iterable[VersionRecord]) -> list[VersionRecord]:
    """Versions that went live but are no longer kept, oldest first: their resources can go."""
    return _served(versions)[:-KEEP_VERSIONS]


def spec_of(record: VersionRecord) -> ApiSpec:
    """The record's spec, parsed when the record was read; the default spec before validation recorded one."""
    return record.spec if record.spec is not None else ApiSpec()


def version_ref(record: VersionRecord) -> VersionRef:
    return VersionRef(
        api=record.api,
        label=record.version,
        spec=spec_of(record),
        image_uri=record.image_uri,
        model_data_uri=record.model_data_uri,
        signal_key=record.signal_key,
    )


PROGRESS_EVENT = "progress"  # timeline kind of a platform message recorded while the new version waits
POST_COMMIT_EVENT = "post_commit"  # a step after the commit failed; data {"tidied": bool}


def _versions(deps: Deps, state: RolloutState) -> tuple[VersionRecord, VersionRecord | None, Platform]:
    record = deps.registry.get_version(state.api, state.seq)
    api = deps.registry.get_api(state.api)
    previous = None
    if api is not None and api.live_seq is not None and api.live_seq != state.seq:
        previous = deps.registry.get_version(state.api, api.live_seq)
    return record, previous, deps.platform_for(spec_of(record).compute.platform)


def _ref(record: VersionRecord | None) -> VersionRef | None:
    return version_ref(record) if record is not None else None


def deploy(deps: Deps, state: RolloutState) -> RolloutState:
    record, previous, platform = _versions(deps, state)
    deps.registry.set_status(
        state.api,
        state.seq,
        VersionStatus.DEPLOYING,
        f"deploying on {platform.name} ({spec_of(record).rollout.strategy})"
        + (f", replacing {previous.version}" if previous else ""),
    )
    platform.deploy(version_ref(record), _ref(previous))
    return state.model_copy(update={"phase": DeploymentPhase.IN_PROGRESS.value})


def _last_progress(deps: Deps, state: RolloutState) -> str | None:
    """The message of the version's newest ``progress`` event, if it has one."""
    events = [e for e in deps.registry.timeline(state.api, state.seq) if e.kind == PROGRESS_EVENT]
    return events[-1].message if events else None


def check_deployment(deps: Deps, state: RolloutState) -> RolloutState:
    """One poll of the deployment; records traffic progress on the version as it moves.

    Before any traffic moves, the platform's message is the only sign of progress ("waiting for g5.xlarge
    capacity", "waiting for health checks"), so a changed message is recorded as a ``progress`` event: once per
    change, never once per poll. After traffic moves, each traffic step is recorded instead; the messages between
    steps (bake countdowns) would add one event per poll and are left out.
    """
    record, previous, platform = _versions(deps, state)
    status = platform.deployment_status(version_ref(record), _ref(previous))
    if status.phase == DeploymentPhase.IN_PROGRESS and status.new_version_percent != record.traffic_percent:
        deps.registry.set_status(
            state.api,
            state.seq,
            VersionStatus.SHIFTING,
            f"{status.new_version_percent}% of traffic on {record.version}",
            traffic_percent=status.new_version_percent,
        )
    elif (
        status.phase == DeploymentPhase.IN_PROGRESS
        and status.new_version_percent == 0
        and status.message
        and status.message != _last_progress(deps, state)
    ):
        deps.registry.add_event(state.api, state.seq, PROGRESS_EVENT, status.message, {"traffic_percent": 0})
    smoke_payload = spec_of(record).smoke_test.payload
    return state.model_copy(
        update={
            "phase": status.phase.value,
            "new_percent": status.new_version_percent,
            "smoke_due": smoke_payload is not None and status.reachable and not state.smoke_done,
            "error": None
            if status.phase in (DeploymentPhase.IN_PROGRESS, DeploymentPhase.SUCCEEDED)
            else CaughtError.model_validate({"Error": status.phase.value, "Cause": _cause(status)}),
        }
    )


def _cause(status: DeploymentStatus) -> str:
    """The Catch-style cause of a failed deployment: ``<code>: <message>`` when the platform knows the code."""
    return f"{status.reason_code}: {status.message}" if status.reason_code else status.message


def _encode(payload: object, content_type: str) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str) and content_type != "application/json":
        return payload.encode()
    return json.dumps(payload).encode()


def verify(deps: Deps, state: RolloutState) -> RolloutState:
    """Smoke test the new version; on failure put traffic back on the old one before reporting."""
    record, previous, platform = _versions(deps, state)
    smoke = spec_of(record).smoke_test
    try:
        answer = platform.smoke_test(
            version_ref(record), _encode(smoke.payload, smoke.content_type), smoke.content_type
        )
    except SmokeTestFailedError:
        platform.rollback(version_ref(record), _ref(previous))
        raise
    deps.registry.add_event(state.api, state.seq, "smoke_test", f"smoke test passed ({len(answer)} bytes answered)")
    return state.model_copy(update={"smoke_done": True, "smoke_due": False})


def _duration(record: VersionRecord, now: float) -> float:
    created = datetime.fromisoformat(record.created_at.replace("Z", "+00:00")).timestamp()
    return max(now - created, 0.0)


def finalize(deps: Deps, state: RolloutState) -> RolloutState:
    """The commit point: the API points at the new version, which is live, and the old one is superseded, in one
    conditional transaction. From here on nothing rolls back: the next step only tidies up."""
    record, previous, platform = _versions(deps, state)
    try:
        deps.registry.go_live(
            state.api,
            state.seq,
            owner=state.execution,
            platform=platform.name,
            previous_seq=previous.seq if previous else None,
            label=record.version,
        )
    except ConditionFailedError:
        raise StaleRolloutError(
            f"execution {state.execution} lost the lease of {state.api} before going live"
        ) from None
    return state.model_copy(update={"live": True})


def complete(deps: Deps, state: RolloutState) -> Outcome:
    """After the commit: prune old versions, notify, hand the lease on. Each part is idempotent, so the state
    machine retries this step; if it still fails, HandleFailure records it and never touches the live version."""
    record, _, platform = _versions(deps, state)
    tidy_after_commit(deps, record, platform)
    notify(deps, "Rollout Succeeded", record, _replaced(deps, state.api, state.seq))
    finish_and_start_next(deps, state.api, state.seq, state.execution)
    return Outcome(VersionStatus.LIVE, _duration(record, deps.clock()))


def tidy_after_commit(deps: Deps, live: VersionRecord, platform: Platform) -> None:
    """Release what the replaced version still holds (ECS: its service) and prune old models; idempotent."""
    platform.retire(version_ref(live), _ref(_replaced(deps, live.api, live.seq)))
    _prune(deps, live.api, platform)


def _replaced(deps: Deps, api: str, seq: int) -> VersionRecord | None:
    """The version the live one replaced: the newest earlier one that went live (now superseded)."""
    earlier = [
        v
        for v in deps.registry.list_versions(api)
        if v.seq < seq and v.status == VersionStatus.SUPERSEDED and v.reason is None and v.image_uri
    ]
    return max(earlier, key=lambda v: v.seq) if earlier else None


def _prune(deps: Deps, api: str, platform: Platform) -> None:
    """Delete the models/configs of versions no longer kept (:func:`to_prune`)."""
    for old in to_prune(deps.registry.list_versions(api)):
        platform.remove_version(version_ref(old))


def _reason_from(state: RolloutState) -> Reason:
    """The failure's code and message, from the Catch payload (``errorType``/``errorMessage`` of the Lambda)."""
    error = state.error
    if error is None:
        return Reason(code="rollout.unknown", message="the rollout stopped without an error")
    message = error.cause
    try:
        cause = json.loads(error.cause)
        message = str(cause.get("errorMessage", error.cause))
    except (json.JSONDecodeError, AttributeError):
        pass
    code, sep, text = message.partition(": ")
    if sep and "." in code and " " not in code:
        return Reason(code=code, message=text)
    if error.error in (DeploymentPhase.ROLLED_BACK.value, DeploymentPhase.FAILED.value):
        return Reason(code=f"deployment.{error.error}", message=message or "the platform ended the deployment")
    return Reason(code=f"rollout.{error.error}", message=message or error.error)


def handle_failure(deps: Deps, state: RolloutState) -> RolloutState | Outcome:
    """Record why, put traffic back where it moved, delete what this rollout created, pass the lease on.

    Never touches the version the API points at: a failure after the commit point is recorded on the timeline
    and the lease is handed on, nothing else. A rollout whose lease another execution now holds touches nothing
    on the platform (that rollout owns the API). Running it again (a retry, the reconciler) is harmless.
    """
    record, previous, platform_or_none = _versions_safely(deps, state)
    reason = _reason_from(state)
    api = deps.registry.get_api(state.api)
    if api is not None and api.live_seq == state.seq and platform_or_none is not None:
        _after_commit_failed(deps, record, platform_or_none, reason)
        finish_and_start_next(deps, state.api, state.seq, state.execution)
        return state.model_copy(update={"live": True})
    owns_api = api is None or not api.lease_held(deps.clock()) or api.lease_owner == state.execution
    rolled_back = reason.code in (SmokeTestFailedError.code, "deployment.rolled_back")
    status = VersionStatus.ROLLED_BACK if rolled_back else VersionStatus.FAILED
    if owns_api and not record.status.is_final and platform_or_none is not None and record.image_uri:
        platform_or_none.rollback(version_ref(record), _ref(previous))
        platform_or_none.remove_version(version_ref(record))
    if not record.status.is_final:  # notified first, so a retry notifies again rather than never
        notify(deps, "Rollout Rolled Back" if rolled_back else "Rollout Failed", record, previous, reason)
        deps.registry.set_status(state.api, state.seq, status, reason.message, reason=reason, traffic_percent=0)
    if owns_api:
        finish_and_start_next(deps, state.api, state.seq, state.execution)
    return Outcome(status, _duration(record, deps.clock()), reason)


def _after_commit_failed(deps: Deps, live: VersionRecord, platform: Platform, reason: Reason) -> None:
    """Record the failure on the live version's timeline and tidy up once more; what still fails is left to the
    reconciler (``tidied: false``), never rolled back."""
    message = f"{live.version} is live; a step after it failed ({reason.code})"
    try:
        tidy_after_commit(deps, live, platform)
    except Exception as error:
        deps.registry.add_event(
            live.api, live.seq, POST_COMMIT_EVENT, f"{message}; tidying up failed: {error}", {"tidied": False}
        )
        return
    deps.registry.add_event(live.api, live.seq, POST_COMMIT_EVENT, message, {"tidied": True})


def _versions_safely(deps: Deps, state: RolloutState) -> tuple[VersionRecord, VersionRecord | None, Platform | None]:
    """Like ``_versions``, but a version that never got a valid spec has no platform to clean up."""
    try:
        return _versions(deps, state)
    except AxonError:
        record = deps.registry.get_version(state.api, state.seq)
        return record, None, None
