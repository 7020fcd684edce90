"""Starting rollouts and handing the API's lease on: one rollout per API, newest queued upload next."""

from __future__ import annotations

import json
import logging

from botocore.exceptions import ClientError

from axon import names
from axon.registry import Reason, VersionRecord, VersionStatus
from axon.rollout.deps import RolloutDeps

logger = logging.getLogger(__name__)


def execution_for(version: VersionRecord) -> str:
    return names.execution_name(version.bucket, version.key, version.version_id)


def rollout_input(version: VersionRecord) -> dict[str, object]:
    """The execution input; derived from the record alone so every starter sends the same (idempotent start)."""
    return {"api": version.api, "seq": version.seq, "execution": execution_for(version)}


def start_execution(deps: RolloutDeps, version: VersionRecord) -> None:
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


def try_start(deps: RolloutDeps, version: VersionRecord) -> bool:
    """Start ``version`` if it can take the API's lease; otherwise leave it queued. Returns whether it started."""
    owner = execution_for(version)
    if deps.registry.acquire_lease(version.api, owner, version.seq, deps.settings.lease_seconds, deps.clock()):
        start_execution(deps, version)
        return True
    if not version.queued:
        deps.registry.update_version(version.api, version.seq, queued=True)
        deps.registry.add_event(version.api, version.seq, "queued", "another rollout of this API is running")
    return False


def finish_and_start_next(deps: RolloutDeps, api: str, seq: int, owner: str) -> VersionRecord | None:
    """End the rollout ``seq`` of ``api``: the newest upload queued after it starts, older queued ones are skipped.

    Uploads older than the version that just rolled out never roll out after it.
    """
    pending = [v for v in deps.registry.list_versions(api) if v.status == VersionStatus.PENDING and v.seq != seq]
    newer = [v for v in pending if v.seq > seq]
    successor = max(newer, key=lambda v: v.seq) if newer else None
    for skipped in pending:
        if successor is None or skipped.seq != successor.seq:
            winner = f"v{successor.seq}" if successor else f"v{seq}"
            deps.registry.set_status(
                api,
                skipped.seq,
                VersionStatus.SUPERSEDED,
                f"skipped: {winner} is newer",
                reason=Reason(code="rollout.superseded", message=f"a newer upload ({winner}) rolled out instead"),
            )
    if successor is None:
        deps.registry.release_lease(api, owner)
        return None
    successor_owner = execution_for(successor)
    if deps.registry.transfer_lease(api, owner, successor_owner, successor.seq, deps.settings.lease_seconds):
        start_execution(deps, successor)
        return successor
    # We no longer held the lease (it expired and was taken): the holder will pick the successor up.
    return None
