"""Issue 14: the per-API roles, checked as the Lambdas' roles are (``test_calls_are_permitted.py``).

- **Per-API roles** (user code): every call a version's replicas make, as the models and task definitions the
  recorded rollouts created say they run, must be allowed by the API's inline policy *and* by the permissions
  boundary the synthesized template deploys (IAM grants only what both allow); the same calls under another API's
  policy must be denied.

The build role is checked in ``test_image_build.py``, the state machine's in ``test_core_stack.py`` (it may invoke
exactly the workflow's functions).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from axon import names
from axon.platforms import api_roles
from bench.faults.iam import Account, Request, requests
from bench.faults.iam_policies import Resolver, bucket_keys, permitted, resolver
from tests.cdk.conftest import Synth
from tests.cdk.iam_recording import Recording, ReplicaCall, replica_calls

pytestmark = pytest.mark.xdist_group("cdk")


def _boundary(found: Resolver) -> dict[str, Any]:
    (policy,) = [
        r
        for r in found.resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"].get("ManagedPolicyName") == names.API_ROLE_BOUNDARY
    ]
    document: dict[str, Any] = found.resolve(policy["Properties"]["PolicyDocument"])
    return document


def _inline_policies(recording: Recording) -> dict[str, dict[str, Any]]:
    """Role name -> the inline policy the control plane put on it (the last write wins, as in IAM)."""
    return {
        call.params["RoleName"]: json.loads(call.params["PolicyDocument"])
        for call in recording.calls
        if (call.site.service, call.site.operation) == ("iam", "PutRolePolicy") and call.error is None
    }


@pytest.fixture(scope="module")
def world(synth: Synth, recording: Recording) -> tuple[Resolver, Account]:
    found = resolver(synth.template.to_json(), recording.environment, Account())
    return found, Account(bucket_keys=bucket_keys(found), roles=recording.roles)


def test_the_deployed_boundary_is_the_document_local_mode_creates(world: tuple[Resolver, Account]) -> None:
    found, account = world
    expected = api_roles.boundary_policy(
        api_roles.Account(
            account.partition, account.account_id, account.region, found.name(_bucket(found)), names.ECR_REPOSITORY
        )
    )
    assert _normalized(_boundary(found)) == _normalized(expected)


def _normalized(document: dict[str, Any]) -> dict[str, Any]:
    """CDK sorts a statement's actions and resources; IAM reads lists as sets."""
    sort = {"Action", "Resource"}
    return {
        **document,
        "Statement": [
            {k: sorted(v) if k in sort and isinstance(v, list) else v for k, v in statement.items()}
            for statement in document["Statement"]
        ],
    }


def _bucket(found: Resolver) -> str:
    (logical,) = [k for k, r in found.resources.items() if r["Type"] == "AWS::S3::Bucket" and k in found.names]
    return logical


def _denied(call: ReplicaCall, account: Account, documents: list[dict[str, Any]]) -> list[str]:
    return [
        f"{call.role}: {request} (for {call.service}:{call.operation})"
        for request in requests(account, call.service, call.operation, call.params)
        if not all(permitted([document], request) for document in documents)
    ]


def test_every_call_a_replica_makes_is_allowed_by_its_api_role_within_the_boundary(
    world: tuple[Resolver, Account], recording: Recording
) -> None:
    found, account = world
    boundary, inline = _boundary(found), _inline_policies(recording)
    calls = list(replica_calls(recording.calls))
    services = {(c.role, c.service) for c in calls}
    assert {role for role, _ in services} == set(inline), "every API role's replicas are checked"
    assert {"s3", "cloudwatch", "ecr", "logs"} <= {service for _, service in services}  # SageMaker and ECS both ran
    denied = sorted({line for call in calls for line in _denied(call, account, [inline[call.role], boundary])})
    assert not denied, f"{len(denied)} replica requests the API roles do not allow:\n" + "\n".join(denied)
    # The check can fail: the same calls under another API's policy (its own keys, namespace, log group) are denied.
    first, other = sorted(inline)[:2]
    own = [c for c in calls if c.role == first and c.service in ("s3", "cloudwatch", "logs")]
    assert own and all(_denied(c, account, [inline[other]]) for c in own)


def test_the_boundary_caps_what_a_broader_inline_policy_would_allow(world: tuple[Resolver, Account]) -> None:
    found, account = world
    boundary = _boundary(found)
    shared = Request("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", names.METRIC_NAMESPACE),))
    registry = Request("dynamodb:GetItem", account.arn("dynamodb", "table/axon-registry"))
    uploads = Request("s3:GetObject", account.s3(found.name(_bucket(found)), "inputs/x"))
    assert not any(permitted([boundary], r) for r in (shared, registry, uploads))


def test_an_ecs_async_workers_queue_grant_is_its_own_queue_only(
    world: tuple[Resolver, Account], recording: Recording
) -> None:
    """Issue 15: a worker may take requests from its own API's queue; not from its dead-letter queue, not from
    another API's queue, never send; and an API that is not async on ECS gets no queue access at all."""
    found, account = world
    boundary, inline = _boundary(found), _inline_policies(recording)
    queued = {c.role for c in replica_calls(recording.calls) if c.service == "sqs"}
    assert queued, "an ECS async rollout was recorded"
    role = sorted(queued)[0]
    api = role.removeprefix(names.api_role_name(""))
    own = [inline[role], boundary]

    def allowed(action: str, queue: str, documents: list[dict[str, Any]]) -> bool:
        request = Request(action, account.arn("sqs", queue))
        return all(permitted([document], request) for document in documents)

    assert allowed("sqs:ReceiveMessage", names.async_queue_name(api), own)
    assert not allowed("sqs:ReceiveMessage", names.async_dlq_name(api), own)
    assert not allowed("sqs:SendMessage", names.async_queue_name(api), own)
    assert not allowed("sqs:ReceiveMessage", names.async_queue_name("other"), own)
    others = [name for name in inline if name not in queued]
    assert others and not any(
        allowed(
            "sqs:ReceiveMessage", names.async_queue_name(other.removeprefix(names.api_role_name(""))), [inline[other]]
        )
        for other in others
    )
