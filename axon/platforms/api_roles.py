"""One IAM role per API: what its replicas (user code) may do, and nothing that belongs to another API.

Every API's SageMaker endpoint (execution role) and ECS tasks (task role) run as ``/axon/api/axon-api-<api>``,
created here by the control plane on the API's first rollout and deleted with the API. Its inline policy names
only that API's bundle keys (``apis/<api>/*``, ``versions/<api>/*``), its log group and its metric namespace
(``Axon/Api/<api>``, the autoscaler's input). The role always carries the ``axon-api-boundary`` permissions
boundary: the control plane's IAM permissions only allow ``CreateRole``/``PutRolePolicy`` with that boundary
(condition ``iam:PermissionsBoundary``), so even a compromised control plane cannot mint a broader role.

Every call is idempotent: an existing role of ours is success, a policy is overwritten with the same document, and
deleting what is gone is success. A role not made by axon under the same name is refused, never adopted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.errors import PlatformError

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

POLICY_NAME = "axon-api"
TAG_MANAGED = "axon:managed-by"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"


class ApiRoleError(PlatformError):
    code = "platform.api_role"


def boundary_arn(partition: str, account: str) -> str:
    """The permissions boundary every per-API role carries: one fixed name per account (AxonCore and local mode)."""
    return f"arn:{partition}:iam::{account}:policy{names.API_ROLE_BOUNDARY_PATH}{names.API_ROLE_BOUNDARY}"


@dataclass(frozen=True)
class Account:
    """Where the roles live and what they may reach: all names the policies need, known to the control plane."""

    partition: str
    account: str
    region: str
    models_bucket: str
    ecr_repository: str

    @classmethod
    def from_boundary(cls, boundary_arn: str, region: str, models_bucket: str, ecr_repository: str) -> Account:
        """Partition and account from the boundary policy's ARN (``arn:<partition>:iam::<account>:policy/...``)."""
        parts = boundary_arn.split(":")
        if len(parts) < 6 or parts[2] != "iam" or not parts[4]:
            raise ApiRoleError(f"not an IAM policy ARN: {boundary_arn!r}")
        return cls(parts[1], parts[4], region, models_bucket, ecr_repository)

    def role_arn(self, api: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{names.API_ROLE_PATH}{names.api_role_name(api)}"

    def boundary_arn(self) -> str:
        return boundary_arn(self.partition, self.account)

    def log_group_arn(self, api: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{names.log_group(api)}"


def trust_policy() -> dict[str, Any]:
    """SageMaker (endpoint containers) and ECS (task role) may assume it; nobody else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": [SAGEMAKER_PRINCIPAL, ECS_TASKS_PRINCIPAL]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def async_statements(account: Account, api: str) -> list[dict[str, Any]]:
    """An async API's endpoint runs as its role: it reads requests from ``inputs/<api>/``, writes answers and
    failures under ``results/<api>/`` and publishes to the API's own two topics, nothing else."""
    bucket = f"arn:{account.partition}:s3:::{account.models_bucket}"
    topic = f"arn:{account.partition}:sns:{account.region}:{account.account}"
    return [
        {
            "Sid": "OwnAsyncInputs",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket}/{names.async_input_prefix(api)}*",
        },
        {
            "Sid": "OwnAsyncResults",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"{bucket}/{names.async_output_prefix(api)}*",
        },
        {
            # Writing an encrypted answer needs a data key; as for reads, S3 already scoped the object.
            "Sid": "EncryptThroughS3",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": f"arn:{account.partition}:kms:{account.region}:{account.account}:key/*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{account.region}.amazonaws.com"}},
        },
        {
            "Sid": "OwnAsyncTopics",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": [f"{topic}:{names.async_topic_name(api, outcome)}" for outcome in names.ASYNC_TOPIC_OUTCOMES],
        },
    ]


def queue_statements(account: Account, api: str) -> list[dict[str, Any]]:
    """An ECS async API's workers take requests from the API's own queue (``names.async_queue_name``): receive,
    keep (visibility) and delete, nothing else (no send, no purge, not its DLQ, no other API's queue)."""
    return [
        {
            "Sid": "OwnAsyncQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            "Resource": f"arn:{account.partition}:sqs:{account.region}:{account.account}:{names.async_queue_name(api)}",
        }
    ]


def role_policy(account: Account, api: str, *, async_io: bool = False, queue: bool = False) -> dict[str, Any]:
    """The API's own keys, log group, metric namespace, and pulling the serving image; with ``async_io`` (an API
    of ``kind: async``) also its own async inputs, results and topics; with ``queue`` (an async API on ECS) also
    its own queue."""
    bucket = f"arn:{account.partition}:s3:::{account.models_bucket}"
    group = account.log_group_arn(api)
    repository = f"arn:{account.partition}:ecr:{account.region}:{account.account}:repository/{account.ecr_repository}"
    extra = async_statements(account, api) if async_io else []
    extra += queue_statements(account, api) if queue else []
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnBundles",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"{bucket}/{names.BUNDLE_PREFIX}{api}/*", f"{bucket}/{names.VERSIONS_PREFIX}{api}/*"],
            },
            {
                # The bucket uses an S3 bucket key, so the encryption context names the bucket, not the object:
                # per-API scoping is S3's (above); this only lets S3 decrypt what it already allowed.
                "Sid": "DecryptThroughS3",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:{account.partition}:kms:{account.region}:{account.account}:key/*",
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{account.region}.amazonaws.com"}},
            },
            {
                "Sid": "OwnLogGroup",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [group, f"{group}:log-stream:*"],
            },
            {
                "Sid": "OwnMetricNamespace",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": names.api_metric_namespace(api)}},
            },
            {
                "Sid": "PullServingImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repository,
            },
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            *extra,
        ],
    }


def boundary_policy(account: Account) -> dict[str, Any]:
    """The most any API's role may do: every API's own-resource statements at once (``api`` as ``*``).

    The AxonCore stack defines the deployed boundary with CDK tokens; local mode creates this document, so the
    per-API role path (create with the boundary, put the policy, delete) runs there exactly as on AWS.
    """
    policy = role_policy(account, "*", async_io=True, queue=True)
    for statement in policy["Statement"]:
        if statement["Sid"] == "OwnMetricNamespace":
            statement["Condition"] = {"StringLike": {"cloudwatch:namespace": names.api_metric_namespace("*")}}
    return policy


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class ApiRoles:
    """Get-or-create and delete the per-API roles (``iam`` client injected)."""

    def __init__(self, iam: IAMClient, account: Account) -> None:
        self.iam = iam
        self.account = account

    def role_arn(self, api: str) -> str:
        return self.account.role_arn(api)

    def ensure(self, api: str, *, async_io: bool = False, queue: bool = False) -> str:
        """The API's role, created if missing, with its policy (re)written; returns its ARN. Idempotent.

        ``async_io``: the API is ``kind: async`` (its role also reads its inputs, writes its results, notifies);
        ``queue``: it runs on ECS (its workers also take requests from its own queue)."""
        name = names.api_role_name(api)
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if _code(error) != "NoSuchEntity":
                raise
            role = self._create(api)
        self._check_ours(role)
        # Always rewritten: a role left by a Lambda that died between CreateRole and PutRolePolicy gets its policy,
        # and a policy from an older axon is replaced by the current one.
        self.iam.put_role_policy(
            RoleName=name,
            PolicyName=POLICY_NAME,
            PolicyDocument=json.dumps(role_policy(self.account, api, async_io=async_io, queue=queue)),
        )
        return str(role["Arn"])

    def _create(self, api: str) -> Any:
        try:
            return self.iam.create_role(
                Path=names.API_ROLE_PATH,
                RoleName=names.api_role_name(api),
                AssumeRolePolicyDocument=json.dumps(trust_policy()),
                PermissionsBoundary=self.account.boundary_arn(),
                Description=f"axon: what the replicas of API {api} run as (its own bundles, logs, metrics)",
                MaxSessionDuration=3600,
                Tags=[{"Key": TAG_MANAGED, "Value": "axon"}, {"Key": "axon:api", "Value": api}],
            )["Role"]
        except ClientError as error:
            if _code(error) != "EntityAlreadyExists":  # a concurrent or earlier attempt made it: read it back
                raise
            return self.iam.get_role(RoleName=names.api_role_name(api))["Role"]

    def _check_ours(self, role: Any) -> None:
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if role.get("Path") != names.API_ROLE_PATH or boundary != self.account.boundary_arn():
            raise ApiRoleError(
                f"IAM role {role.get('RoleName')} exists but was not made by axon (path {role.get('Path')!r}, "
                f"boundary {boundary!r}); rename or delete it"
            )

    def delete(self, api: str) -> None:
        """Remove the role and its inline policy; what is already gone is success. Idempotent."""
        name = names.api_role_name(api)
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                return
            raise
        if role.get("Path") != names.API_ROLE_PATH:
            return  # not ours (ensure refuses to use it): never delete someone else's role
        for call in (
            lambda: self.iam.delete_role_policy(RoleName=name, PolicyName=POLICY_NAME),
            lambda: self.iam.delete_role(RoleName=name),
        ):
            _ignore_missing(call)


def _ignore_missing(call: Callable[[], object]) -> None:
    try:
        call()
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
