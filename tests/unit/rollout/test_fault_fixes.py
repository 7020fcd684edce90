"""The faults issue's fixes, proved on the step logic with the in-memory registry: each test fails without its fix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from axon.registry import InMemoryRegistry, VersionStatus
from axon.registry.writes import Write
from axon.rollout import prepare, recovery, release
from axon.rollout.intake import accept_upload, execution_for, finish_and_start_next
from axon.rollout.release import version_ref
from axon.rollout.state import CaughtError, RolloutState, StaleRolloutError
from tests.unit.rollout.twins import World, upload, world


def _state(w: World, seq: int, error: str | None = None) -> RolloutState:
    record = w.registry.get_version("iris", seq)
    caught = CaughtError.model_validate({"Error": "TransientError", "Cause": error}) if error else None
    return RolloutState(api="iris", seq=seq, execution=execution_for(record), error=caught)


def _arrive(w: World, version_id: str) -> int:
    """The intake's work for an upload; returns its sequence number."""
    outcome = accept_upload(w.deps, "axon-models", "apis/iris/bundle.tar.gz", version_id, "etag", 1)
    assert outcome.version is not None
    return int(outcome.version.removeprefix("v"))


def _deploy(w: World, seq: int) -> RolloutState:
    """Validate/build/deploy as the workflow would, up to (not including) the commit."""
    w.registry.set_image("iris", seq, f"image:{seq}")
    state = _state(w, seq)
    release.deploy(w.deps, state)
    return state


def _live(w: World, version_id: str) -> int:
    seq = _arrive(w, version_id)
    state = release.finalize(w.deps, _deploy(w, seq))
    w.clients.executions[state.execution] = "SUCCEEDED" if release.complete(w.deps, state) else "FAILED"
    return seq


def test_a_failure_after_the_commit_never_touches_the_live_version() -> None:
    """Observed before the fix: v2 live, its notify throttled -> HandleFailure deleted the endpoint."""
    w = world()
    _live(w, "A")
    seq = _arrive(w, "B")
    committed = release.finalize(w.deps, _deploy(w, seq))
    failed_after = committed.model_copy(update={"live": False, "error": CaughtError(Error="TransientError")})
    result = release.handle_failure(w.deps, failed_after)
    assert isinstance(result, RolloutState) and result.live  # the execution ends Succeeded
    assert (w.platform.serving, w.platform.versions) == ("v2", {"v1", "v2"})
    assert [c for c in w.platform.calls if c.startswith(("rollback", "remove"))] == []
    api = w.registry.get_api("iris")
    assert api is not None and api.live_seq == 2 and api.lease_owner is None
    assert [v.status for v in w.registry.list_versions("iris")] == [VersionStatus.SUPERSEDED, VersionStatus.LIVE]
    assert "post_commit" in [e.kind for e in w.registry.timeline("iris", 2)]


def test_handle_failure_of_a_rollout_that_lost_its_lease_touches_nothing_on_the_platform() -> None:
    w = world()
    _live(w, "A")
    stale = _arrive(w, "B")
    state = _deploy(w, stale)
    assert w.registry.release_lease("iris", state.execution)
    assert w.registry.acquire_lease("iris", "another-execution", 9, 3600)
    w.platform.calls.clear()
    release.handle_failure(w.deps, state.model_copy(update={"error": CaughtError(Error="StaleRolloutError")}))
    assert w.platform.calls == []
    assert w.registry.get_version("iris", stale).status == VersionStatus.FAILED
    api = w.registry.get_api("iris")
    assert api is not None and api.lease_owner == "another-execution"


def test_handle_failure_twice_cleans_up_once_and_keeps_the_first_reason() -> None:
    w = world()
    _live(w, "A")
    seq = _arrive(w, "B")
    state = _deploy(w, seq).model_copy(
        update={"error": CaughtError(Error="X", Cause="deployment.failed: the fleet never became healthy")}
    )
    release.handle_failure(w.deps, state)
    calls = list(w.platform.calls)
    again = state.model_copy(update={"error": CaughtError(Error="TIMED_OUT", Cause="rollout.execution_timed_out: x")})
    release.handle_failure(w.deps, again)
    assert w.platform.calls == calls and w.platform.serving == "v1"
    record = w.registry.get_version("iris", seq)
    assert record.reason is not None and record.reason.code == "deployment.failed"


class RacingRegistry(InMemoryRegistry):
    """Registers one more upload right before the first lease hand-off: the stranded-upload race, made certain."""

    def __init__(self) -> None:
        super().__init__()
        self.race: World | None = None

    def _update(self, update: Write) -> dict[str, object]:  # type: ignore[override]
        if self.race is not None and "lease_owner" in getattr(update, "set", {}) and update.condition is not None:
            race, self.race = self.race, None
            outcome = accept_upload(race.deps, "axon-models", "apis/iris/bundle.tar.gz", "C", "etag", 1)
            assert outcome.result == "queued"  # it saw the lease held
        return super()._update(update)  # type: ignore[arg-type]


def test_an_upload_that_queues_while_the_lease_is_handed_on_is_started() -> None:
    registry = RacingRegistry()
    w = world(registry)
    seq = _arrive(w, "A")
    state = release.finalize(w.deps, _deploy(w, seq))
    registry.race = w
    release.complete(w.deps, state)
    queued = w.registry.get_version("iris", 2)
    api = w.registry.get_api("iris")
    assert api is not None and api.lease_owner == execution_for(queued)
    assert w.clients.executions[execution_for(queued)] == "RUNNING"


class CrashingRegistry(InMemoryRegistry):
    """The store fails the first multi-item write (a crash or a throttle inside the intake)."""

    failed = False

    def _write(self, writes: Sequence[Write]) -> None:
        if len(writes) > 1 and not self.failed:
            self.failed = True
            raise ConnectionError("the Lambda died mid-intake")
        super()._write(writes)


def test_an_intake_that_dies_mid_registration_loses_nothing_on_redelivery() -> None:
    w = world(CrashingRegistry())
    with pytest.raises(ConnectionError):
        _arrive(w, "A")
    assert _arrive(w, "A") == 2  # the redelivered event registers it (sequence 1 stays unused)
    assert w.registry.get_version("iris", 2).status == VersionStatus.PENDING
    assert list(w.clients.executions.values()) == ["RUNNING"]


def test_the_reconciler_starts_a_stranded_upload_and_frees_a_lease_whose_execution_ended() -> None:
    w = world()
    _live(w, "A")
    stuck = _arrive(w, "B")
    _deploy(w, stuck)
    w.registry.set_status("iris", stuck, VersionStatus.SHIFTING, "40% on v2", traffic_percent=40)
    w.clients.executions[execution_for(w.registry.get_version("iris", stuck))] = "TIMED_OUT"
    report = recovery.reconcile(w.deps)
    assert report.recovered == ["iris v2: TIMED_OUT"] and report.errors == []
    record = w.registry.get_version("iris", stuck)
    assert record.status == VersionStatus.FAILED and record.reason is not None
    assert record.reason.code == "rollout.execution_timed_out"
    assert w.platform.serving == "v1" and "v2" not in w.platform.versions
    api = w.registry.get_api("iris")
    assert api is not None and api.lease_owner is None and api.live_seq == 1
    # An upload registered while no rollout held the lease, whose starter died before StartExecution.
    w.registry.register_upload(upload("C"))
    assert recovery.reconcile(w.deps).started == ["iris v3"]
    assert w.clients.executions[execution_for(w.registry.get_version("iris", 3))] == "RUNNING"


def test_the_reconciler_starts_the_execution_of_a_lease_taken_by_a_starter_that_died() -> None:
    w = world()
    record, _ = w.registry.register_upload(upload("A"))
    assert w.registry.acquire_lease("iris", execution_for(record), record.seq, 3600)  # then the intake died
    assert recovery.reconcile(w.deps).started == ["iris v1"]
    assert w.clients.executions == {execution_for(record): "RUNNING"}
    assert recovery.reconcile(w.deps).started == []  # running now: nothing to do


def test_the_reconciler_supersedes_an_upload_older_than_the_live_version() -> None:
    w = world()
    old, _ = w.registry.register_upload(upload("A"))
    _live(w, "B")
    w.registry.set_status("iris", old.seq, VersionStatus.PENDING, "as if its hand-off never looked")
    report = recovery.reconcile(w.deps)
    assert report.superseded == ["iris v1"] and report.started == []
    assert w.registry.get_version("iris", old.seq).status == VersionStatus.SUPERSEDED


def test_finish_and_start_next_skips_older_queued_uploads_for_the_newest() -> None:
    w = world()
    seq = _arrive(w, "A")
    _arrive(w, "B")
    _arrive(w, "C")
    successor = finish_and_start_next(w.deps, "iris", seq, _state(w, seq).execution)
    assert successor is not None and successor.version == "v3"
    assert w.registry.get_version("iris", 2).status == VersionStatus.SUPERSEDED
    assert version_ref(successor).label == "v3"


def test_the_reconciler_registers_an_upload_whose_event_never_arrived() -> None:
    w = world()
    now = datetime.now(UTC)
    listed = {"Key": "apis/iris/bundle.tar.gz", "ETag": "e", "Size": 1}
    w.clients.object_versions = [
        {**listed, "VersionId": "MISSED", "LastModified": now - timedelta(minutes=10)},
        {**listed, "VersionId": "IN-FLIGHT", "LastModified": now - timedelta(seconds=5)},  # its event is on the way
        {**listed, "VersionId": "ANCIENT", "LastModified": now - timedelta(days=3)},
        {**listed, "Key": "apis/iris/notes.txt", "VersionId": "TXT", "LastModified": now - timedelta(minutes=10)},
    ]
    assert recovery.reconcile(w.deps, now).registered == ["iris v1"]
    assert [v.version_id for v in w.registry.list_versions("iris")] == ["MISSED"]
    assert recovery.reconcile(w.deps, now).registered == []  # registered once


def test_a_step_of_an_execution_that_lost_its_lease_stops_before_touching_anything() -> None:
    w = world()
    seq = _arrive(w, "A")
    state = _state(w, seq)
    assert w.registry.release_lease("iris", state.execution)
    assert w.registry.acquire_lease("iris", "a-newer-execution", 2, 3600)
    with pytest.raises(StaleRolloutError):
        prepare.validate(w.deps, state)
    assert w.registry.get_version("iris", seq).status == VersionStatus.PENDING
    with pytest.raises(StaleRolloutError):  # nor can it commit
        release.finalize(w.deps, state)
