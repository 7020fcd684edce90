"""Intake and queue against moto (no state machine execution): exactly-once starts, newest-queued-next."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon.deps import Deps
from axon.registry import DynamoDBRegistry, Upload, VersionStatus
from axon.rollout.intake import accept_upload, execution_for, finish_and_start_next
from axon.settings import Settings
from axon_local.provision import create_registry_table

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def deps() -> Iterator[Deps]:
    with mock_aws():

        def client(service: str) -> Any:
            return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]

        create_registry_table(client("dynamodb"), "axon-registry")
        machine = client("stepfunctions").create_state_machine(
            name="axon-rollout", definition=PASS_MACHINE, roleArn="arn:aws:iam::123456789012:role/x"
        )
        settings = Settings(state_machine_arn=machine["stateMachineArn"])
        yield Deps(
            settings=settings,
            registry=DynamoDBRegistry("axon-registry", client("dynamodb")),
            platform_for=lambda name: pytest.fail("the intake never touches a platform"),
            client=client,
        )


def _executions(deps: Deps) -> list[str]:
    listed = deps.client("stepfunctions").list_executions(stateMachineArn=deps.settings.state_machine_arn)
    return sorted(e["name"] for e in listed["executions"])


def _upload(deps: Deps, version_id: str, key: str = "apis/iris/model.tar.gz") -> str:
    outcome = accept_upload(deps, "axon-models", key, version_id, "etag", 10)
    return outcome.result


def test_a_duplicated_event_starts_one_rollout(deps: Deps) -> None:
    assert _upload(deps, "A") == "started"
    assert _upload(deps, "A") == "duplicate"
    assert len(_executions(deps)) == 1
    version = deps.registry.get_version("iris", 1)
    assert _executions(deps) == [execution_for(version)]
    api = deps.registry.get_api("iris")
    assert api is not None and api.lease_owner == execution_for(version)


def test_a_redelivery_after_a_crash_between_register_and_start_finishes_the_start(deps: Deps) -> None:
    deps.registry.register_upload(
        Upload(api="iris", bucket="axon-models", key="apis/iris/model.tar.gz", version_id="A")
    )
    assert _executions(deps) == []
    assert _upload(deps, "A") == "duplicate"
    assert len(_executions(deps)) == 1


def test_uploads_during_a_rollout_queue_and_only_the_newest_rolls_out_next(deps: Deps) -> None:
    assert _upload(deps, "A") == "started"
    assert _upload(deps, "B") == "queued"
    assert _upload(deps, "C") == "queued"
    assert _upload(deps, "C") == "duplicate"  # a redelivery of a queued upload stays queued, once
    first = deps.registry.get_version("iris", 1)
    successor = finish_and_start_next(deps, "iris", 1, execution_for(first))
    assert successor is not None and successor.version == "v3"
    assert deps.registry.get_version("iris", 2).status == VersionStatus.SUPERSEDED
    assert deps.registry.get_version("iris", 2).reason is not None
    assert len(_executions(deps)) == 2
    api = deps.registry.get_api("iris")
    assert api is not None and api.lease_owner == execution_for(successor)
    # When v3 ends with nothing queued, the lease is released and the next upload starts at once.
    assert finish_and_start_next(deps, "iris", 3, execution_for(successor)) is None
    assert _upload(deps, "D") == "started"


def test_an_older_pending_upload_never_rolls_out_after_a_newer_one(deps: Deps) -> None:
    assert _upload(deps, "A") == "started"
    deps.registry.register_upload(
        Upload(api="iris", bucket="axon-models", key="apis/iris/other.tar.gz", version_id="B")
    )
    v1 = deps.registry.get_version("iris", 1)
    # v2 is pending but older than v3, which rolled out: when v3 ends, v2 is skipped.
    deps.registry.register_upload(Upload(api="iris", bucket="axon-models", key="apis/iris/new.tar.gz", version_id="C"))
    deps.registry.set_status("iris", 3, VersionStatus.LIVE, "rolled out")
    assert finish_and_start_next(deps, "iris", 3, execution_for(v1)) is None
    assert deps.registry.get_version("iris", 2).status == VersionStatus.SUPERSEDED


@pytest.mark.parametrize(
    ("key", "version_id"),
    [
        ("apis/Bad_Name/m.tar.gz", "A"),
        ("models/iris/m.tar.gz", "A"),
        ("apis/iris/m.zip", "A"),
        ("apis/iris/m.tar.gz", None),
    ],
)
def test_keys_outside_the_contract_and_unversioned_buckets_are_ignored(
    deps: Deps, key: str, version_id: str | None
) -> None:
    assert accept_upload(deps, "axon-models", key, version_id, "e", 1).result == "ignored"
    assert _executions(deps) == []
