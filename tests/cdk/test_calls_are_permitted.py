"""Issue 14: a missing or an unused IAM permission is found by a test, not by a deploy.

moto cannot judge axon's policies (it authorizes most services against ``Resource: "*"``: docs/moto-patches.md,
"IAM"), so every AWS call the Lambdas make on moto (recorded by the fault harness, ``tests/cdk/iam_recording.py``)
is turned into the requests AWS would authorize (``bench.faults.iam``) and checked against the policies the
synthesized template gives that function's role, resolved to the same resources (``bench.faults.iam_policies``).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from axon.functions import ALL_FUNCTIONS
from bench.faults.iam import Account, Request, Role, UnmappedCall, requests
from bench.faults.iam_policies import (
    Grant,
    Resolver,
    applies,
    bucket_keys,
    conditions_hold,
    function_documents,
    grants,
    permitted,
    resolver,
)
from tests.cdk.conftest import Synth
from tests.cdk.iam_recording import Recording
from tests.cdk.test_core_stack import ROLLOUT_MODULES

pytestmark = pytest.mark.xdist_group("cdk")

# Granted to every function, used by Lambda itself rather than by a call of the handler: it writes the function's
# log group, and active tracing sends segments through the X-Ray SDK (disabled on moto).
RUNTIME_ACTIONS = {
    "logs:CreateLogStream": "Lambda writes the handler's output to its own log group",
    "logs:PutLogEvents": "Lambda writes the handler's output to its own log group",
    "xray:PutTraceSegments": "active tracing: the X-Ray SDK, disabled on moto",
    "xray:PutTelemetryRecords": "active tracing: the X-Ray SDK, disabled on moto",
    "sqs:SendMessage": "Lambda sends an asynchronous event that kept failing to the dead-letter queue",
}
EVERY = "*"  # an UNUSED entry for every function (a grant all of them get)
NOT_REACHED = "a path the recording does not reach: "
CACHED = "read once per process and cached; in-process every Lambda shares one process, so one function records it"
ROLLOUT = "axon-deploy-version"  # any member of the rollout family (ROLLOUT_MODULES)
# Grants no recorded call uses, each with why it stays: (function or EVERY, action) -> reason. Keep it small.
UNUSED: dict[tuple[str, str], str] = {
    (EVERY, "ssm:GetParameter"): CACHED,
    (ROLLOUT, "sagemaker:DeleteEndpoint"): NOT_REACHED + "a failed first version or a removed API",
    (ROLLOUT, "cloudwatch:DeleteAlarms"): NOT_REACHED + "a failed first version or a removed API",
    (ROLLOUT, "iam:DeleteRole"): NOT_REACHED + "a failed first version or a removed API drops its role",
    (ROLLOUT, "iam:DeleteRolePolicy"): NOT_REACHED + "a failed first version or a removed API drops its role",
    (ROLLOUT, "ecs:ListTasks"): NOT_REACHED + "an ECS task of the new version stopped with an error",
    (ROLLOUT, "ecs:DescribeTasks"): NOT_REACHED + "an ECS task of the new version stopped with an error",
    (ROLLOUT, "ecs:DescribeTaskDefinition"): NOT_REACHED + "an ECS task of the new version stopped with an error",
    (ROLLOUT, "logs:GetLogEvents"): NOT_REACHED + "the log of a stopped ECS task",
    (ROLLOUT, "sns:DeleteTopic"): NOT_REACHED + "a failed first version of an async API",
    (ROLLOUT, "sns:ListTopics"): NOT_REACHED + "a failed first version of an async API",
}


@dataclass(frozen=True)
class Policies:
    account: Account
    documents: dict[str, list[dict[str, Any]]]  # function name -> resolved policy documents


def policies_for(synth: Synth, environment: dict[str, str], roles: dict[str, Role] | None = None) -> Policies:
    found: Resolver = resolver(synth.template.to_json(), environment, Account())
    found.account = Account(bucket_keys=bucket_keys(found), roles=roles or {})
    names = [spec.function_name for spec in ALL_FUNCTIONS]
    return Policies(found.account, {name: function_documents(found, name) for name in names})


@pytest.fixture(scope="module")
def policies(synth: Synth, recording: Recording) -> Policies:
    return policies_for(synth, recording.environment, recording.roles)


def _requests(policies: Policies, recording: Recording) -> Iterator[tuple[str, Request, str]]:
    for call in recording.calls:
        site = call.site
        for request in requests(policies.account, site.service, site.operation, call.params):
            yield site.function, request, f"{site.service}:{site.operation}"


def test_every_lambda_is_exercised(recording: Recording) -> None:
    recorded = {call.site.function for call in recording.calls}
    assert {spec.function_name for spec in ALL_FUNCTIONS} - recorded == set()


def test_every_call_a_lambda_makes_is_permitted_by_its_role(policies: Policies, recording: Recording) -> None:
    denied = sorted(
        {
            f"{function}: {request} (for {call})"
            for function, request, call in _requests(policies, recording)
            if not permitted(policies.documents[function], request)
        }
    )
    assert not denied, f"{len(denied)} requests the synthesized roles do not allow:\n" + "\n".join(denied)


def role_sets(policies: Policies) -> dict[frozenset[Grant], list[str]]:
    """Functions that hold one permission set by design, keyed by the grants each of them holds.

    The rollout Lambdas (``ROLLOUT_MODULES``) share the platform grants: a step's platform calls depend on the
    platform and on how far the rollout got, so a grant any of them uses counts as used by all of them.
    """
    family = [f"axon-{m.replace('_', '-')}" for m in sorted(ROLLOUT_MODULES)]
    groups: dict[frozenset[Grant], list[str]] = {}
    for function, documents in policies.documents.items():
        held = frozenset(g for g, _ in grants(documents) if g.action not in RUNTIME_ACTIONS)
        groups[held] = family if function in family else [function]
    return groups


def test_every_granted_permission_is_used_or_explained(policies: Policies, recording: Recording) -> None:
    used: dict[str, set[Grant]] = defaultdict(set)
    for function, request, _ in _requests(policies, recording):
        used[function] |= {g for g, s in grants(policies.documents[function]) if applies(s, request)}
    found: set[str] = set()
    explained: set[tuple[str, str]] = set()
    for shared, functions in role_sets(policies).items():
        by_any = set().union(*(used[f] for f in functions))
        for grant in sorted(shared - by_any):
            keys = {(f, grant.action) for f in (*functions, EVERY)} & UNUSED.keys()
            explained |= keys
            if not keys:
                found.add(f"{', '.join(sorted(functions))}: {grant}")
    assert not found, f"{len(found)} grants no recorded call uses:\n" + "\n".join(sorted(found))
    assert UNUSED.keys() <= explained, f"UNUSED entries now used (remove them): {sorted(UNUSED.keys() - explained)}"


# ---- the check itself can fail -------------------------------------------------------------------------------

WORLD = {  # the names provisioning gives (axon_local.provision), for the tests that record nothing
    "AXON_REGISTRY_TABLE": "axon-registry",
    "AXON_MODELS_BUCKET": "axon-models",
    "AXON_ECR_REPOSITORY": "axon-serving",
    "AXON_CODEBUILD_PROJECT": "axon-image-build",
    "AXON_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/axon-sagemaker-execution",
}
CREATE_MODEL = {
    "ModelName": "axon-iris-v1",
    "ExecutionRoleArn": WORLD["AXON_SAGEMAKER_ROLE_ARN"],
    "PrimaryContainer": {"Image": "x"},
    "Tags": [{"Key": "axon:api", "Value": "iris"}],
}


@pytest.fixture(scope="module")
def offline(synth: Synth) -> Policies:
    return policies_for(synth, WORLD)


def test_removing_an_action_from_a_role_makes_its_call_denied(offline: Policies) -> None:
    documents = offline.documents["axon-deploy-version"]
    (create,) = [r for r in requests(offline.account, "sagemaker", "CreateModel", CREATE_MODEL) if "Create" in r.action]
    assert permitted(documents, create)
    stripped = copy.deepcopy(documents)
    for document in stripped:
        for statement in document["Statement"]:
            if isinstance(statement["Action"], list) and create.action in statement["Action"]:
                statement["Action"].remove(create.action)
    assert not permitted(stripped, create)


def test_a_resource_outside_the_grant_is_denied(offline: Policies) -> None:
    documents = offline.documents["axon-deploy-version"]
    assert not permitted(documents, Request("sagemaker:CreateModel", offline.account.arn("sagemaker", "model/x")))
    assert not permitted(offline.documents["axon-autoscaler"], Request("s3:GetObject", "arn:aws:s3:::axon-models/x"))


def test_conditions_are_checked_per_statement() -> None:
    """Two PassRole statements for two services: each allows its own (moto alone would deny both)."""

    def passing(role: str, service: str) -> Request:
        return Request("iam:PassRole", f"arn:aws:iam::123456789012:role/{role}", (("iam:PassedToService", service),))

    def statement(role: str, service: str) -> dict[str, Any]:
        condition = {"StringEquals": {"iam:PassedToService": service}}
        resource = f"arn:aws:iam::123456789012:role/{role}"
        return {"Effect": "Allow", "Action": "iam:PassRole", "Resource": resource, "Condition": condition}

    documents = [{"Statement": [statement("a", "sagemaker.amazonaws.com"), statement("b", "ecs-tasks.amazonaws.com")]}]
    assert permitted(documents, passing("a", "sagemaker.amazonaws.com"))
    assert permitted(documents, passing("b", "ecs-tasks.amazonaws.com"))
    assert not permitted(documents, passing("a", "ecs-tasks.amazonaws.com"))
    denied = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
    assert not permitted([*documents, {"Statement": [denied]}], passing("a", "sagemaker.amazonaws.com"))


def test_conditions_follow_iam_not_moto() -> None:
    """moto passes any operator but StringEquals and any key the request lacks; IAM does neither."""
    like = {"StringLike": {"cloudwatch:namespace": "Axon/Api/*"}}
    put = "cloudwatch:PutMetricData"
    assert conditions_hold(like, Request(put, "*", (("cloudwatch:namespace", "Axon/Api/iris"),)))
    assert not conditions_hold(like, Request(put, "*", (("cloudwatch:namespace", "Axon"),)))
    assert not conditions_hold(like, Request(put, "*"))  # the key is missing: the condition fails
    assert conditions_hold({"StringLikeIfExists": like["StringLike"]}, Request(put, "*"))
    equals = {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "sagemaker.amazonaws.com"]}}
    assert conditions_hold(equals, Request("iam:PassRole", "r", (("iam:PassedToService", "sagemaker.amazonaws.com"),)))
    with pytest.raises(ValueError, match="NumericLessThan"):
        conditions_hold({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, Request(put, "*"))


def test_calls_map_to_what_aws_authorizes(offline: Policies) -> None:
    account = offline.account
    key = account.bucket_keys["axon-models"]
    copy_object = {
        "Bucket": "axon-models",
        "Key": "versions/iris/v1/bundle.tar.gz",
        "CopySource": {"Bucket": "axon-models", "Key": "apis/iris/b.tar.gz", "VersionId": "3"},
    }
    assert [str(r) for r in requests(account, "s3", "CopyObject", copy_object)] == [
        f"kms:Decrypt on {key} (kms:ViaService=s3.us-east-1.amazonaws.com)",
        f"kms:GenerateDataKey on {key} (kms:ViaService=s3.us-east-1.amazonaws.com)",
        "s3:GetObjectVersion on arn:aws:s3:::axon-models/apis/iris/b.tar.gz",
        "s3:PutObject on arn:aws:s3:::axon-models/versions/iris/v1/bundle.tar.gz",
    ]
    transaction = {"TransactItems": [{"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}}]}
    assert [r.action for r in requests(account, "dynamodb", "TransactWriteItems", transaction)] == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
    ]
    (invoke,) = requests(account, "sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "axon-Iris"})
    assert str(invoke) == "sagemaker:InvokeEndpoint on arn:aws:sagemaker:us-east-1:123456789012:endpoint/axon-iris"
    with pytest.raises(UnmappedCall):
        requests(account, "ec2", "RunInstances", {})
