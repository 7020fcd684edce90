"""Per-API roles on moto's IAM: created once with axon's boundary, scoped to their own API, gone with the API.

The stored policy documents are evaluated with moto's IAM policy evaluator: API a's role may read a's bundles,
write a's log group and a's metric namespace, and is denied the same on API b's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult

from axon import names
from axon.errors import TransientError
from axon.platforms.api_roles import POLICY_NAME, Account, ApiRoleError, ApiRoles, trust_policy
from axon.platforms.base import VersionRef
from axon.platforms.isolated import IsolatedPlatform
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.spec import load_spec_text
from axon_local.patches import moto_patches
from tests.functional.platforms.conftest import client

ACCOUNT = "123456789012"
BUCKET = "axoncore-models-abc"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/axon/{names.API_ROLE_BOUNDARY}"


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        iam = client("iam")
        iam.create_policy(
            PolicyName=names.API_ROLE_BOUNDARY,
            Path=names.API_ROLE_BOUNDARY_PATH,
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
            ),
        )
        yield iam


def roles(iam: Any) -> ApiRoles:
    return ApiRoles(iam, Account.from_boundary(BOUNDARY, "us-east-1", BUCKET, names.ECR_REPOSITORY))


def policy_of(iam: Any, api: str) -> IAMPolicy:
    document = iam.get_role_policy(RoleName=names.api_role_name(api), PolicyName=POLICY_NAME)["PolicyDocument"]
    return IAMPolicy(document if isinstance(document, str) else json.dumps(document))


def allowed(policy: IAMPolicy, action: str, resource: str, **conditions: str) -> bool:
    return policy.is_action_permitted(action, resource, incoming_condition_values=conditions or None) is (
        PermissionResult.PERMITTED
    )


def test_the_role_is_created_once_under_the_path_with_the_boundary_and_trusts_only_the_platforms(iam: Any) -> None:
    arn = roles(iam).ensure("a")
    assert roles(iam).ensure("a") == arn == f"arn:aws:iam::{ACCOUNT}:role/axon/api/axon-api-a"
    role = iam.get_role(RoleName="axon-api-a")["Role"]
    assert role["Path"] == names.API_ROLE_PATH
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    assert role["AssumeRolePolicyDocument"] == trust_policy()
    assert len(iam.list_roles(PathPrefix=names.API_ROLE_PATH)["Roles"]) == 1


def test_a_role_left_without_its_policy_gets_it_on_the_next_attempt(iam: Any) -> None:
    """The control plane died between CreateRole and PutRolePolicy: the retried step finishes the job."""
    roles(iam).ensure("a")
    iam.delete_role_policy(RoleName="axon-api-a", PolicyName=POLICY_NAME)
    roles(iam).ensure("a")
    assert iam.list_role_policies(RoleName="axon-api-a")["PolicyNames"] == [POLICY_NAME]


def test_a_role_of_the_same_name_not_made_by_axon_is_refused_and_kept(iam: Any) -> None:
    iam.create_role(RoleName="axon-api-a", AssumeRolePolicyDocument=json.dumps(trust_policy()))
    with pytest.raises(ApiRoleError, match="not made by axon"):
        roles(iam).ensure("a")
    roles(iam).delete("a")
    assert iam.get_role(RoleName="axon-api-a")["Role"]["Path"] == "/"


def test_api_a_reads_and_writes_only_its_own_bundles_logs_and_metrics(iam: Any) -> None:
    roles(iam).ensure("a")
    roles(iam).ensure("ab")  # a prefix of another API's name grants nothing of it
    a = policy_of(iam, "a")
    objects = f"arn:aws:s3:::{BUCKET}"
    assert allowed(a, "s3:GetObject", f"{objects}/apis/a/model.tar.gz")
    assert allowed(a, "s3:GetObject", f"{objects}/versions/a/v1/bundle.tar.gz")
    for key in ("apis/b/model.tar.gz", "versions/b/v1/bundle.tar.gz", "apis/ab/x.tar.gz", "versions/ab/v1/b.tar.gz"):
        assert not allowed(a, "s3:GetObject", f"{objects}/{key}"), key
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{names.log_group('%s')}"
    assert allowed(a, "logs:PutLogEvents", f"{group % 'a'}:log-stream:AllTraffic/i-1")
    assert not allowed(a, "logs:PutLogEvents", f"{group % 'b'}:log-stream:AllTraffic/i-1")
    assert not allowed(a, "logs:PutLogEvents", f"{group % 'ab'}:log-stream:AllTraffic/i-1")
    own, other = names.api_metric_namespace("a"), names.api_metric_namespace("b")
    assert allowed(a, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": own})
    assert not allowed(a, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": other})
    assert not allowed(a, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": names.METRIC_NAMESPACE})


def test_delete_removes_the_role_and_is_idempotent(iam: Any) -> None:
    roles(iam).ensure("a")
    roles(iam).delete("a")
    roles(iam).delete("a")
    assert iam.list_roles(PathPrefix=names.API_ROLE_PATH)["Roles"] == []


def test_a_sagemaker_model_runs_as_its_api_role_and_the_role_goes_with_the_api(iam: Any) -> None:
    with moto_patches():
        inner = SageMakerPlatform(
            client("sagemaker"), client("sagemaker-runtime"), client("cloudwatch"), "arn:aws:iam::1:role/shared"
        )
        platform = IsolatedPlatform(inner, roles(iam))
        version = VersionRef(
            "a", "v1", load_spec_text(None), "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", "s3://m/versions/a/v1/b.tar.gz"
        )
        platform.deploy(version, None)
        model = client("sagemaker").describe_model(ModelName=names.model_name("a", "v1"))
        assert model["ExecutionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/axon/api/axon-api-a"
        platform.delete_api("a")
        assert iam.list_roles(PathPrefix=names.API_ROLE_PATH)["Roles"] == []


def test_a_role_sagemaker_cannot_assume_yet_is_a_transient_error(iam: Any) -> None:
    """IAM is eventually consistent: CreateModel right after CreateRole may say so; the step is retried."""
    sagemaker = client("sagemaker")
    inner = SageMakerPlatform(sagemaker, client("sagemaker-runtime"), client("cloudwatch"), "arn:aws:iam::1:role/x")
    version = VersionRef("a", "v1", load_spec_text(None), "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", "s3://m/v")
    with Stubber(sagemaker) as stub:
        stub.add_client_error(
            "create_model",
            service_error_code="ValidationException",
            service_message=f"Could not assume role {roles(iam).role_arn('a')}. Please ensure that the role exists.",
        )
        with pytest.raises(TransientError, match="cannot assume"):
            IsolatedPlatform(inner, roles(iam)).deploy(version, None)
