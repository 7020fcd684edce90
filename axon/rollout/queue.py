"""Starting rollouts and handing the API's lease on: one rollout per API, newest queued upload next."""

from __future__ import annotations

import json
import logging

from botocore.exceptions import ClientError

from axon import names
from axon.deps import Deps
from axon.errors import TransientError
from axon.registry import LeaseMove, Reason, VersionRecord, VersionStatus

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
