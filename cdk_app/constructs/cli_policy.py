"""What a user of the ``axon`` CLI may do on AWS, defined once: the ``AxonCore`` stack's managed policy, and
``docs/iam/axon-cli-policy.json`` (``make cli-policy``), are both :func:`cli_policy_document`.

Every statement is scoped to axon's own names (``axon.names``): the ``AxonCore`` stack, the registry table, the
models bucket's ``apis/`` and ``versions/`` prefixes and its key (through S3 only), and the ``axon-*`` endpoints,
models, endpoint configs, alarms, log groups, ECS services and load-balancer rules the rollout workflow creates.
What each command calls, and so which statement it needs:

| command | AWS calls |
|---|---|
| every command but ``predict``, ``pack``, ``validate`` | ``cloudformation:DescribeStacks`` of ``AxonCore`` (discovery) |
| ``deploy`` | ``s3:PutObject`` (multipart) of ``apis/<api>/bundle.tar.gz``, then registry reads and replica counts |
| ``get``, ``history`` | registry reads; ``get`` also ``cloudwatch:GetMetricData`` and each API's capacity |
| ``predict`` | ``sagemaker:InvokeEndpoint`` of ``axon-<api>``; an ECS API: ``/axon/ecs/config``, then HTTP to the ALB |
| ``rollback`` | ``s3:GetObjectVersion`` of the kept upload and ``CopyObject`` onto the bundle key |
| ``delete`` | the platform's deletes (``axon.admin.delete_api``; an async API's SNS topics and, on ECS, SQS queues too), the autoscaler state, the registry marks |
| ``delete --purge`` | ``s3:ListBucketVersions`` and ``s3:DeleteObjectVersion`` under ``apis/<api>/``, ``versions/<api>/`` |
| ``submit`` | ``s3:PutObject`` under ``inputs/<api>/``, then ``sagemaker:InvokeEndpointAsync`` of ``axon-<api>`` (an ECS API: ``sqs:SendMessage`` to ``axon-<api>-async``) |
| ``result`` | ``s3:ListBucket`` (prefix ``results/``) and ``s3:GetObject`` under ``results/<api>/`` |
| ``logs`` | ``logs:FilterLogEvents`` of ``/aws/sagemaker/Endpoints/axon-<api>`` (an ECS API's task definition names it) |
| ``info`` | ``sts:GetCallerIdentity`` (needs no permission) and discovery |

``tests/cdk/test_cli_policy.py`` runs those commands on moto, maps every call they make to the requests AWS
authorizes (``bench.faults.iam``) and checks each against the synthesized policy: a missing statement fails it,
and so does a statement no command uses.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from axon.names import (
    API_ROLE_PATH,
    ASYNC_INPUTS_PREFIX,
    ASYNC_QUEUE_PATTERN,
    ASYNC_RESULTS_PREFIX,
    ASYNC_TOPIC_PATTERN,
    BUNDLE_PREFIX,
    CLI_POLICY,
    CORE_STACK,
    ECS_CLUSTER,
    ECS_LOAD_BALANCER,
    REGISTRY_TABLE,
    TARGET_GROUP_PREFIX,
    VERSIONS_PREFIX,
    alarm_name,
    api_role_name,
    async_queue_name,
    bundle_key,
    endpoint_name,
    log_group,
)
from axon.platforms.alarms import ALARM_KINDS
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER
from axon.registry.keys import ENTITY_INDEX
from cdk_app.constructs.storage import ModelsStore
from cdk_app.nag import acknowledge_wildcards, wildcard_findings

POLICY_FILE = Path(__file__).resolve().parents[2] / "docs" / "iam" / "axon-cli-policy.json"
AXON = endpoint_name("*")  # axon-*: every per-API resource name starts so


@dataclass(frozen=True)
class Deployment:
    """The deployment-specific values the policy names: CDK tokens in the stack, placeholders in the file."""

    partition: str
    account: str
    region: str
    models_bucket: str
    models_key_arn: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def objects(self, pattern: str) -> str:
        return f"arn:{self.partition}:s3:::{self.models_bucket}/{pattern}"


PLACEHOLDERS = Deployment("${Partition}", "${Account}", "${Region}", "${ModelsBucket}", "${ModelsKeyArn}")

# Why each statement with a wildcard has it (its cdk-nag acknowledgement), by the statement's Sid.
WILDCARD_REASONS = {
    "FindTheDeployment": f"The ARN of the {CORE_STACK} stack ends in the id CloudFormation generated; the CLI reads "
    "only that stack's outputs.",
    "ApiRoles": "Each API runs as its own role /axon/api/axon-api-<api>, created at its first rollout; axon delete "
    "removes it (and only a role under that path).",
    "ReadApiRoles": "axon delete reads the API's role axon-api-<api> before removing it; IAM names a role that is "
    "already gone without its path, so both forms are readable (read only).",
    "UploadBundles": "axon deploy uploads apis/<api>/bundle.tar.gz for any API the user names; nothing else in "
    "the models bucket. AbortMultipartUpload cleans up a failed multipart upload of that key.",
    "ReadUploads": "axon rollback copies the kept upload of an earlier version, under apis/<api>/ with whichever "
    "name it was uploaded; always by its VersionId.",
    "PurgeBundles": "axon delete --purge deletes every object version of one API under apis/<api>/ and "
    "versions/<api>/, for any API the user names; nothing else in the models bucket.",
    "SubmitAsyncInputs": "axon submit uploads request bodies under inputs/<api>/<id> for any async API the user names; "
    "nothing else in the models bucket.",
    "ReadAsyncResults": "axon result reads answers and failures under results/<api>/ for any async API the user names.",
    "ListAsyncResults": "axon result lists the one key it waits for under results/ (S3 answers 403, not 404, for a "
    "missing key the caller may not list).",
    "AsyncTopics": "axon delete removes an async API's topics axon-<api>-async-success/error, created at run time.",
    "SubmitToAsyncQueues": "axon submit sends a request to an ECS async API's queue axon-<api>-async, created at run "
    "time (never to its dead-letter queue).",
    "AsyncQueues": "axon submit finds an ECS async API's queue, axon get reads which version owns it and axon delete "
    "removes it and its dead-letter queue (axon-<api>-async[-dlq], created at run time).",
    "ListTopics": "sns:ListTopics supports no resource-level permissions; AWS requires Resource '*'. axon delete "
    "finds an async API's two topics by name.",
    "ReadMetrics": "cloudwatch:GetMetricData supports no resource-level permissions; AWS requires Resource '*'. "
    "axon get reads the Axon and AWS/SageMaker metrics of the APIs it lists.",
    "Endpoints": "Every API's SageMaker endpoint is named axon-<api>, created at run time by the rollout workflow.",
    "EndpointConfigs": "SageMaker endpoint configs are created per API and version at run time, all of them named "
    "axon-<api>-<version>.",
    "Models": "SageMaker models are created per API and version at run time, all of them named axon-<api>-<version>.",
    "ListSageMakerVersions": "sagemaker:ListEndpointConfigs and sagemaker:ListModels support no resource-level "
    "permissions; AWS requires Resource '*'. axon delete lists only names containing axon-<api>-.",
    "Alarms": "Per-API rollback alarms are named axon-<api>-5xx and axon-<api>-latency, created at run time; "
    "platform alarms are named AxonPlatform-* so these patterns cannot touch them.",
    "Logs": "Each API logs to its own group /aws/sagemaker/Endpoints/axon-<api>, created at run time.",
    "EcsServices": f"ECS services are created per API and version at run time, named axon-<api>-<label>, only in "
    f"cluster {ECS_CLUSTER}.",
    "ListEcsServices": "ecs:ListServices has no resource type; the condition keeps it to the axon cluster.",
    "EcsTaskDefinitions": "ecs:ListTaskDefinitionFamilies, ecs:ListTaskDefinitions, ecs:DeregisterTaskDefinition and "
    "ecs:DescribeTaskDefinition support no resource-level permissions; AWS requires Resource '*'. axon delete lists "
    "only the axon-<api>-<label> families (familyPrefix); axon logs reads the log group of one of them.",
    "EcsListenerRules": f"Each API's rules are created at run time on the listener of load balancer "
    f"{ECS_LOAD_BALANCER}; listener and rule ids are generated by ELB.",
    "EcsTargetGroups": "Target groups are created per API and version at run time, named ax-<api>-<label>-<hash> "
    "(32-character limit); ELB appends a generated id to their ARN.",
    "DescribeLoadBalancing": "Elastic Load Balancing Describe* actions support no resource-level permissions; AWS "
    "requires Resource '*'. They only read.",
}


def _statement(sid: str, actions: list[str], resources: list[str], condition: Any = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def cli_statements(at: Deployment) -> list[dict[str, Any]]:
    """Every statement a CLI user needs for every command (module doc), scoped to axon's names in ``at``."""
    table = at.arn("dynamodb", f"table/{REGISTRY_TABLE}")
    endpoints = at.arn("sagemaker", f"endpoint/{AXON}")
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{at.region}.amazonaws.com"}}
    roles = f"arn:{at.partition}:iam::{at.account}:role"
    api_roles = f"{roles}{API_ROLE_PATH}{api_role_name('*')}"
    bundles, versions = f"{BUNDLE_PREFIX}*", f"{VERSIONS_PREFIX}*"
    return [
        # Discovery: the stack's outputs name the bucket, the table and the state machine (axon.cli.context).
        _statement(
            "FindTheDeployment", ["cloudformation:DescribeStacks"], [at.arn("cloudformation", f"stack/{CORE_STACK}/*")]
        ),
        # get, history, and following a rollout: the registry's records (get lists the APIs on the entity index).
        _statement("ReadRegistry", ["dynamodb:GetItem"], [table]),
        _statement("QueryRegistry", ["dynamodb:Query"], [table, f"{table}/index/{ENTITY_INDEX}"]),
        # delete: the API marked deleted, its live version superseded, the autoscaler's state items removed.
        _statement(
            "DeleteFromRegistry", ["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"], [table]
        ),
        # delete: the API's own role and its inline policy (axon.platforms.api_roles), only under axon's role path.
        # GetRole comes first; for a role that is already gone IAM names it without a path, hence both resources.
        _statement("ApiRoles", ["iam:DeleteRolePolicy", "iam:DeleteRole"], [api_roles]),
        _statement("ReadApiRoles", ["iam:GetRole"], [api_roles, f"{roles}/{api_role_name('*')}"]),
        # deploy uploads, rollback copies onto, the one bundle key of each API.
        _statement("UploadBundles", ["s3:PutObject", "s3:AbortMultipartUpload"], [at.objects(bundle_key("*"))]),
        _statement("ReadUploads", ["s3:GetObjectVersion"], [at.objects(bundles)]),
        # The bucket is SSE-KMS: S3 encrypts uploads and decrypts copies with the models key, on the caller's behalf.
        _statement("UseModelsKeyThroughS3", ["kms:GenerateDataKey", "kms:Decrypt"], [at.models_key_arn], via_s3),
        _statement(
            "ListBundleVersions",
            ["s3:ListBucketVersions"],
            [f"arn:{at.partition}:s3:::{at.models_bucket}"],
            {"StringLike": {"s3:prefix": [bundles, versions]}},
        ),
        _statement("PurgeBundles", ["s3:DeleteObjectVersion"], [at.objects(bundles), at.objects(versions)]),
        # submit and result: async APIs' request bodies and answers (kind: async, docs/async.md).
        _statement("SubmitAsyncInputs", ["s3:PutObject"], [at.objects(f"{ASYNC_INPUTS_PREFIX}*")]),
        _statement("ReadAsyncResults", ["s3:GetObject"], [at.objects(f"{ASYNC_RESULTS_PREFIX}*")]),
        _statement(
            "ListAsyncResults",
            ["s3:ListBucket"],
            [f"arn:{at.partition}:s3:::{at.models_bucket}"],
            {"StringLike": {"s3:prefix": [f"{ASYNC_RESULTS_PREFIX}*"]}},
        ),
        _statement("ReadMetrics", ["cloudwatch:GetMetricData"], ["*"]),
        # get and follow read replica counts; predict and submit invoke; delete removes.
        _statement(
            "Endpoints",
            [
                "sagemaker:DescribeEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:InvokeEndpointAsync",
                "sagemaker:DeleteEndpoint",
            ],
            [endpoints],
        ),
        # delete: an async API's notification topics, found by name.
        _statement("AsyncTopics", ["sns:DeleteTopic"], [at.arn("sns", ASYNC_TOPIC_PATTERN)]),
        _statement("ListTopics", ["sns:ListTopics"], ["*"]),
        # ECS async APIs: submit sends the request to the API's queue (not its dead-letter queue); get reads which
        # version owns it; delete removes the queue and its dead-letter queue.
        _statement("SubmitToAsyncQueues", ["sqs:SendMessage"], [at.arn("sqs", async_queue_name("*"))]),
        _statement(
            "AsyncQueues",
            ["sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:DeleteQueue"],
            [at.arn("sqs", ASYNC_QUEUE_PATTERN)],
        ),
        _statement(
            "EndpointConfigs", ["sagemaker:DeleteEndpointConfig"], [at.arn("sagemaker", f"endpoint-config/{AXON}")]
        ),
        _statement("Models", ["sagemaker:DeleteModel"], [at.arn("sagemaker", f"model/{AXON}")]),
        _statement("ListSageMakerVersions", ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"], ["*"]),
        _statement(
            "Alarms",
            ["cloudwatch:DeleteAlarms"],
            [at.arn("cloudwatch", f"alarm:{alarm_name('*', kind)}") for kind in ALARM_KINDS],
        ),
        _statement("Logs", ["logs:FilterLogEvents"], [at.arn("logs", f"log-group:{log_group('*')}")]),
        # ECS APIs (compute.platform: ecs): where they run, their replica counts, and what delete removes.
        _statement(
            "ReadEcsConfig", ["ssm:GetParameter"], [at.arn("ssm", f"parameter/{ECS_CONFIG_PARAMETER.lstrip('/')}")]
        ),
        _statement(
            "EcsServices",
            ["ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService"],
            [at.arn("ecs", f"service/{ECS_CLUSTER}/{AXON}")],
        ),
        _statement(
            "ListEcsServices",
            ["ecs:ListServices"],
            ["*"],
            {"ArnEquals": {"ecs:cluster": at.arn("ecs", f"cluster/{ECS_CLUSTER}")}},
        ),
        _statement(
            "EcsTaskDefinitions",
            [
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:DeregisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
            ],
            ["*"],
        ),
        _statement(
            "EcsListenerRules",
            ["elasticloadbalancing:DeleteRule"],
            [at.arn("elasticloadbalancing", f"listener-rule/app/{ECS_LOAD_BALANCER}/*")],
        ),
        _statement(
            "EcsTargetGroups",
            ["elasticloadbalancing:DeleteTargetGroup"],
            [at.arn("elasticloadbalancing", f"targetgroup/{TARGET_GROUP_PREFIX}*/*")],
        ),
        _statement(
            "DescribeLoadBalancing",
            [
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroups",
            ],
            ["*"],
        ),
    ]


def cli_policy_document(at: Deployment) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": cli_statements(at)}


def render() -> str:
    """``docs/iam/axon-cli-policy.json``: the policy with ``${...}`` placeholders for the deployment's values."""
    return json.dumps(cli_policy_document(PLACEHOLDERS), indent=2) + "\n"


def write_policy_file(path: Path = POLICY_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())


def add_cli_policy(scope: Construct, models: ModelsStore) -> iam.ManagedPolicy:
    """The ``axon-cli`` managed policy in ``scope``'s stack; each wildcard is acknowledged with its statement's
    reason (:data:`WILDCARD_REASONS`), and a wildcard without one is refused."""
    stack = Stack.of(scope)
    at = Deployment(stack.partition, stack.account, stack.region, models.bucket.bucket_name, models.key.key_arn)
    statements = {str(s["Sid"]): iam.PolicyStatement.from_json(s) for s in cli_statements(at)}
    policy = iam.ManagedPolicy(
        scope,
        "CliPolicy",
        managed_policy_name=CLI_POLICY,
        description="axon: what the axon CLI needs for every command; attach it to the users, roles or groups "
        "that run axon",
        statements=list(statements.values()),
    )
    for sid, statement in statements.items():
        if sid in WILDCARD_REASONS:
            acknowledge_wildcards(policy, statement, WILDCARD_REASONS[sid])
        elif wildcard_findings(policy, statement):
            raise ValueError(f"CLI policy statement {sid} has a wildcard but no reason in WILDCARD_REASONS")
    return policy


if __name__ == "__main__":
    write_policy_file(Path(sys.argv[1]) if len(sys.argv) > 1 else POLICY_FILE)
