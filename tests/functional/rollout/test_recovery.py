"""Faults through the real ASL on moto: after the commit nothing rolls back, and what the workflow cannot catch
(an aborted execution, a failed cleanup, a missed S3 event) is finished by the execution-status rule and the
reconciler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from axon import names
from axon.deps import default_deps
from axon.platforms.base import DeploymentPhase, DeploymentStatus
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.registry import VersionStatus
from axon.rollout import recovery, release
from tests.functional.rollout.conftest import Stack, bundle, client


def _live_v1(stack: Stack) -> str:
    stack.push_image()
    version_id = stack.upload("iris", bundle())
    assert stack.wait_final("iris", version_id).status == VersionStatus.LIVE
    return version_id


@contextmanager
def _failing(operation: str, code: str, times: int = 1_000) -> Iterator[None]:
    """``operation`` raises ``code`` (as after the SDK's own retries) inside the block.

    The block ends before the stack's fixture uninstalls the local patches, which wrap the same method: restoring
    after that would put the patches' wrapper back for good.
    """
    original = BaseClient._make_api_call
    left = {"n": times}

    def call(self: BaseClient, operation_name: str, params: dict[str, Any]) -> Any:
        if operation_name == operation and left["n"] > 0:
            left["n"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation_name)
        return original(self, operation_name, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", call)
        yield


def test_a_notification_that_keeps_failing_after_the_commit_leaves_the_new_version_live(stack: Stack) -> None:
    """The reported incident: v2's notify throttled -> the endpoint was deleted and v2 marked failed."""
    _live_v1(stack)
    with _failing("PutEvents", "ThrottlingException"):
        v2 = stack.wait_final("iris", stack.upload("iris", bundle("serving: {max_concurrency: 2}")))
    assert v2.status == VersionStatus.LIVE, v2.reason
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v2"
    api = stack.registry.get_api("iris")
    assert api is not None and (api.live_seq, api.lease_owner) == (2, None)
    assert [e["status"] for e in stack.executions()] == ["SUCCEEDED", "SUCCEEDED"]
    assert "post_commit" in [e.kind for e in stack.registry.timeline("iris", 2)]


def test_a_throttled_registry_write_mid_rollout_is_retried_not_failed(stack: Stack) -> None:
    _live_v1(stack)
    with _failing("TransactWriteItems", "ThrottlingException", times=2):
        v2 = stack.wait_final("iris", stack.upload("iris", bundle("serving: {max_concurrency: 2}")))
    assert v2.status == VersionStatus.LIVE, v2.reason


def test_an_aborted_execution_is_cleaned_up_by_the_execution_status_rule(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _live_v1(stack)
    never_done = DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message="waiting for ml.g5.xlarge capacity")

    def waiting(*_: Any) -> DeploymentStatus:
        time.sleep(0.2)  # a poll, not a busy loop: the execution stays small until it is stopped
        return never_done

    monkeypatch.setattr(SageMakerPlatform, "deployment_status", waiting)
    version_id = stack.upload("iris", bundle("serving: {max_concurrency: 2}"))
    stack.wait_until(lambda: stack.version("iris", version_id).status == VersionStatus.DEPLOYING, "v2 deploying")
    (running,) = [e for e in stack.executions() if e["status"] == "RUNNING"]
    client("stepfunctions").stop_execution(executionArn=running["executionArn"], cause="operator")
    record = stack.wait_final("iris", version_id)
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "rollout.execution_aborted"
    stack.wait_until(lambda: stack.registry.get_api("iris").lease_owner is None, "the lease freed")  # type: ignore[union-attr]
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v1"
    assert stack.sagemaker_resources() == (["axon-iris"], ["axon-iris-v1"], ["axon-iris-v1"])


def test_a_cleanup_that_fails_is_finished_by_the_execution_status_rule(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    _live_v1(stack)
    notify = release.notify
    failures = {"n": 0}

    def broken_notify(deps: Any, detail_type: str, *args: Any) -> None:
        if detail_type == "Rollout Failed" and failures["n"] < 4:  # every attempt HandleFailure's retries make
            failures["n"] += 1
            raise RuntimeError("SNS fan-out is down")
        notify(deps, detail_type, *args)

    monkeypatch.setattr(release, "notify", broken_notify)
    record = stack.wait_final("iris", stack.upload("iris", b"not a tarball"))
    assert record.status == VersionStatus.FAILED and failures["n"] == 4
    assert sorted(e["status"] for e in stack.executions()) == ["FAILED", "SUCCEEDED"]
    stack.wait_until(lambda: stack.registry.get_api("iris").lease_owner is None, "the lease freed")  # type: ignore[union-attr]
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v1"


def test_the_reconciler_rolls_out_an_upload_whose_s3_event_was_missed(stack: Stack) -> None:
    _live_v1(stack)
    events = client("events")
    events.remove_targets(Rule=names.UPLOAD_RULE, Ids=["intake"])  # the event is lost on its way
    version_id = stack.upload("iris", bundle("serving: {max_concurrency: 2}"))
    assert stack.registry.find_version("iris", version_id) is None
    later = datetime.now(UTC) + recovery.MISSED_UPLOAD_GRACE + timedelta(seconds=1)
    report = recovery.reconcile(default_deps(), later)
    assert report.registered == ["iris v2"] and report.errors == []
    assert stack.wait_final("iris", version_id).status == VersionStatus.LIVE
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v2"
