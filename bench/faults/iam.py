"""What AWS authorizes for one recorded boto3 call: its IAM action(s), resource ARN(s) and condition keys.

moto checks IAM for S3 and a few others only, and authorizes every other action against ``Resource: "*"``
(``docs/moto-patches.md``, "IAM"), so it cannot judge axon's resource-scoped policies. This module turns each
call the fault harness records (service, operation, parameters) into the requests AWS would authorize, following
the Service Authorization Reference: the service prefix of the IAM action (``stepfunctions`` -> ``states``,
``sagemaker-runtime`` -> ``sagemaker``, ``elbv2`` -> ``elasticloadbalancing``), the resource ARN built from the
parameters, and the permissions a call needs beyond its own action (``iam:PassRole`` for the roles it hands to a
service, tag-on-create, the item-level actions of a DynamoDB transaction, KMS for an SSE-KMS bucket).

An operation with no rule here raises :class:`UnmappedCall`: a new AWS call fails the test until it is mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ANY = "*"  # the resource of actions that support no resource-level permissions
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
_ELB = "elasticloadbalancing"


class UnmappedCall(LookupError):
    """A recorded call has no rule in :data:`RULES`; add one (the Service Authorization Reference says what)."""


@dataclass(frozen=True)
class Role:
    """What IAM authorizes a role's calls on beyond its name: its ARN holds its path; its boundary is a condition."""

    path: str = "/"
    boundary: str | None = None


@dataclass(frozen=True)
class Account:
    """Where ARNs point: the fixed test account and region, and each SSE-KMS bucket's key ARN."""

    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    bucket_keys: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)  # IAM role name -> its path and boundary

    def role(self, name: str) -> Role:
        return self.roles.get(name, Role())

    def role_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role{self.role(name).path}{name}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")


@dataclass(frozen=True, order=True)
class Request:
    """One authorization AWS makes: ``action`` on ``resource``, with the request's condition keys."""

    action: str
    resource: str
    conditions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        where = f" ({', '.join(f'{k}={v}' for k, v in self.conditions)})" if self.conditions else ""
        return f"{self.action} on {self.resource}{where}"


Params = Mapping[str, Any]
Rule = Callable[[Account, str, Params], Iterator[Request]]  # (account, operation, params) -> requests
RULES: dict[tuple[str, str], Rule] = {}


def rule(service: str, *operations: str) -> Callable[[Rule], Rule]:
    """Register a rule for ``operations`` of the boto3 client ``service``."""

    def register(function: Rule) -> Rule:
        for operation in operations:
            RULES[(service, operation)] = function
        return function

    return register


def requests(account: Account, service: str, operation: str, params: Params) -> list[Request]:
    """Every authorization AWS makes for ``operation`` of ``service`` (a boto3 client name) with ``params``."""
    found = RULES.get((service, operation))
    if found is None:
        raise UnmappedCall(f"no IAM rule for {service}:{operation}; add one to bench/faults/iam.py")
    return sorted(set(found(account, operation, params)))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _star(prefix: str) -> Rule:
    """Actions that support no resource-level permissions: AWS authorizes them on ``*``."""

    def everywhere(account: Account, operation: str, params: Params) -> Iterator[Request]:
        yield Request(f"{prefix}:{operation}", ANY)

    return everywhere


RULES.update({("ecs", op): _star("ecs") for op in ("DeregisterTaskDefinition", "ListTaskDefinitions")})
RULES[("ecs", "DescribeTaskDefinition")] = _star("ecs")
RULES[("cloudwatch", "GetMetricData")] = _star("cloudwatch")
RULES[("ecr", "GetAuthorizationToken")] = _star("ecr")
RULES.update(
    {
        ("elbv2", op): _star(_ELB)
        for op in ("DescribeRules", "DescribeTags", "DescribeTargetGroups", "DescribeTargetHealth")
    }
)


# ---- DynamoDB: table (and index) ARNs; transactions are authorized per item kind, batches per table -------------


def _table(account: Account, table: str, index: str | None = None) -> str:
    return account.arn("dynamodb", f"table/{table}" + (f"/index/{index}" if index else ""))


@rule("dynamodb", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
def _dynamodb_item(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request(f"dynamodb:{operation}", _table(account, params["TableName"], params.get("IndexName")))


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@rule("dynamodb", "TransactWriteItems", "TransactGetItems")
def _dynamodb_transaction(account: Account, operation: str, params: Params) -> Iterator[Request]:
    for item in params["TransactItems"]:
        for kind, body in item.items():
            yield Request(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(account, body["TableName"]))


@rule("dynamodb", "BatchGetItem", "BatchWriteItem")
def _dynamodb_batch(account: Account, operation: str, params: Params) -> Iterator[Request]:
    for table in params["RequestItems"]:
        yield Request(f"dynamodb:{operation}", _table(account, table))


# ---- S3: object and bucket ARNs; SSE-KMS needs the bucket key for reads (Decrypt) and writes (GenerateDataKey) ---


def _kms(account: Account, bucket: str, action: str) -> Iterator[Request]:
    """S3 calls KMS on the caller's behalf for an SSE-KMS bucket; the request says so (``kms:ViaService``)."""
    if bucket in account.bucket_keys:
        yield Request(action, account.bucket_keys[bucket], (("kms:ViaService", f"s3.{account.region}.amazonaws.com"),))


def _read(account: Account, bucket: str, key: str, version_id: str | None) -> Iterator[Request]:
    yield Request("s3:GetObjectVersion" if version_id else "s3:GetObject", account.s3(bucket, key))
    yield from _kms(account, bucket, "kms:Decrypt")


@rule("s3", "GetObject", "HeadObject")
def _s3_read(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield from _read(account, params["Bucket"], params["Key"], params.get("VersionId"))


@rule("s3", "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
def _s3_write(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request("s3:PutObject", account.s3(params["Bucket"], params["Key"]))
    yield from _kms(account, params["Bucket"], "kms:GenerateDataKey")


@rule("s3", "CopyObject", "UploadPartCopy")
def _s3_copy(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield from _s3_write(account, operation, params)
    source = params["CopySource"]
    if isinstance(source, str):  # "bucket/key?versionId=..."
        path, _, version_id = source.lstrip("/").partition("?versionId=")
        bucket, _, key = path.partition("/")
        source = {"Bucket": bucket, "Key": key, "VersionId": version_id or None}
    yield from _read(account, source["Bucket"], source["Key"], source.get("VersionId"))


@rule("s3", "ListObjectVersions", "ListObjectsV2", "ListObjects")
def _s3_list(account: Account, operation: str, params: Params) -> Iterator[Request]:
    action = "s3:ListBucketVersions" if operation == "ListObjectVersions" else "s3:ListBucket"
    conditions = (("s3:prefix", str(params["Prefix"])),) if "Prefix" in params else ()
    yield Request(action, account.s3(params["Bucket"]), conditions)


# ---- SageMaker: lower-case resource names; CreateModel passes the execution role; Tags need AddTags -----------

_SAGEMAKER_NOUNS = {  # operation suffix -> (ARN resource type, name parameter)
    "EndpointWeightsAndCapacities": ("endpoint", "EndpointName"),
    "EndpointConfig": ("endpoint-config", "EndpointConfigName"),
    "Endpoint": ("endpoint", "EndpointName"),
    "Model": ("model", "ModelName"),
}


@rule(
    "sagemaker",
    *(f"{verb}{noun}" for verb in ("Create", "Describe", "Delete") for noun in ("Model", "EndpointConfig", "Endpoint")),
    "UpdateEndpoint",
    "UpdateEndpointWeightsAndCapacities",
)
@rule("sagemaker-runtime", "InvokeEndpoint")
def _sagemaker(account: Account, operation: str, params: Params) -> Iterator[Request]:
    kind, parameter = next(v for suffix, v in _SAGEMAKER_NOUNS.items() if operation.endswith(suffix))
    arn = account.arn("sagemaker", f"{kind}/{params[parameter].lower()}")
    yield Request(f"sagemaker:{operation}", arn)
    if params.get("Tags"):
        yield Request("sagemaker:AddTags", arn)
    if params.get("ExecutionRoleArn"):
        yield Request("iam:PassRole", params["ExecutionRoleArn"], (("iam:PassedToService", SAGEMAKER_PRINCIPAL),))


# ---- ECS: services in their cluster, task-definition families; roles passed to tasks; tag-on-create -----------


def _ecs_arn(account: Account, kind: str, cluster: str, name: str) -> str:
    return name if name.startswith("arn:") else account.arn("ecs", f"{kind}/{cluster}/{name}")


def _cluster(params: Params) -> str:
    return str(params.get("cluster", "default")).rsplit("/", 1)[-1]


@rule("ecs", "CreateService", "UpdateService", "DeleteService", "DescribeServices")
def _ecs_services(account: Account, operation: str, params: Params) -> Iterator[Request]:
    names = params.get("services") or [params.get("serviceName") or params["service"]]
    for name in _as_list(names):
        arn = _ecs_arn(account, "service", _cluster(params), name)
        yield Request(f"ecs:{operation}", arn)
        if operation == "CreateService" and params.get("tags"):
            yield Request("ecs:TagResource", arn, (("ecs:CreateAction", "CreateService"),))


@rule("ecs", "RegisterTaskDefinition")
def _ecs_register(account: Account, operation: str, params: Params) -> Iterator[Request]:
    arn = account.arn("ecs", f"task-definition/{params['family']}:*")  # the revision AWS assigns
    yield Request("ecs:RegisterTaskDefinition", arn)
    if params.get("tags"):
        yield Request("ecs:TagResource", arn, (("ecs:CreateAction", "RegisterTaskDefinition"),))
    for role in ("taskRoleArn", "executionRoleArn"):
        if params.get(role):
            yield Request("iam:PassRole", params[role], (("iam:PassedToService", ECS_TASKS_PRINCIPAL),))


@rule("ecs", "DescribeTasks")
def _ecs_tasks(account: Account, operation: str, params: Params) -> Iterator[Request]:
    for task in params["tasks"]:
        yield Request("ecs:DescribeTasks", _ecs_arn(account, "task", _cluster(params), task))


@rule("ecs", "ListTasks")
def _ecs_list_tasks(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request("ecs:ListTasks", ANY, (("ecs:cluster", account.arn("ecs", f"cluster/{_cluster(params)}")),))


# ---- Elastic Load Balancing: ARNs from the parameters; a new target group by name; tags on create ---------------

_ELB_ARN_PARAMETERS = ("TargetGroupArn", "RuleArn", "ResourceArns")


@rule("elbv2", "DeleteTargetGroup", "ModifyTargetGroupAttributes", "ModifyRule", "DeleteRule", "AddTags")
def _elb(account: Account, operation: str, params: Params) -> Iterator[Request]:
    parameter = next(p for p in _ELB_ARN_PARAMETERS if p in params)
    for arn in _as_list(params[parameter]):
        yield Request(f"{_ELB}:{operation}", arn)


@rule("elbv2", "CreateTargetGroup")
def _elb_target_group(account: Account, operation: str, params: Params) -> Iterator[Request]:
    arn = account.arn(_ELB, f"targetgroup/{params['Name']}/*")  # the id AWS assigns
    yield Request(f"{_ELB}:CreateTargetGroup", arn)
    if params.get("Tags"):
        yield Request(f"{_ELB}:AddTags", arn)


@rule("elbv2", "CreateRule")
def _elb_rule(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request(f"{_ELB}:CreateRule", params["ListenerArn"])
    if params.get("Tags"):  # the new rule: listener-rule/app/<lb>/<id>/<listener id>/<rule id AWS assigns>
        yield Request(f"{_ELB}:AddTags", params["ListenerArn"].replace(":listener/", ":listener-rule/", 1) + "/*")


# ---- CloudWatch alarms, Logs, EventBridge, Step Functions, SSM, ECR, CodeBuild ---------------------------------


@rule("cloudwatch", "PutMetricAlarm", "SetAlarmState", "DeleteAlarms", "DescribeAlarms")
def _alarms(account: Account, operation: str, params: Params) -> Iterator[Request]:
    if "AlarmNamePrefix" in params:
        names = [f"{params['AlarmNamePrefix']}*"]
    else:
        names = _as_list(params.get("AlarmNames", params.get("AlarmName")))
    for name in names:
        yield Request(f"cloudwatch:{operation}", account.arn("cloudwatch", f"alarm:{name}") if name else ANY)


@rule("cloudwatch", "PutMetricData")
def _put_metric_data(account: Account, operation: str, params: Params) -> Iterator[Request]:
    # No resource-level permissions; a policy may limit it by namespace (condition key cloudwatch:namespace).
    yield Request("cloudwatch:PutMetricData", ANY, (("cloudwatch:namespace", params["Namespace"]),))


@rule(
    "logs",
    "FilterLogEvents",
    "GetLogEvents",
    "DescribeLogStreams",
    "CreateLogGroup",
    "CreateLogStream",
    "PutLogEvents",
)
def _logs(account: Account, operation: str, params: Params) -> Iterator[Request]:
    group = params.get("logGroupIdentifier") or params["logGroupName"]
    arn = group if group.startswith("arn:") else account.arn("logs", f"log-group:{group}")
    # Authorized on the stream (AWS's own Lambda logging policy grants CreateLogStream on "log-group:<name>:*").
    if operation in ("GetLogEvents", "PutLogEvents", "CreateLogStream"):
        arn = f"{arn}:log-stream:{params['logStreamName']}"
    yield Request(f"logs:{operation}", arn)


@rule("events", "PutEvents")
def _put_events(account: Account, operation: str, params: Params) -> Iterator[Request]:
    for entry in params["Entries"]:
        bus = entry.get("EventBusName") or "default"
        yield Request("events:PutEvents", bus if bus.startswith("arn:") else account.arn("events", f"event-bus/{bus}"))


@rule("stepfunctions", "StartExecution", "DescribeExecution", "StopExecution")
def _states(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request(f"states:{operation}", params.get("stateMachineArn") or params["executionArn"])


@rule("ssm", "GetParameter")
def _parameter(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request("ssm:GetParameter", account.arn("ssm", f"parameter/{params['Name'].lstrip('/')}"))


@rule(
    "ecr",
    "DescribeImages",
    "DescribeRepositories",
    "BatchGetImage",
    "GetDownloadUrlForLayer",
    "BatchCheckLayerAvailability",
    "InitiateLayerUpload",
    "UploadLayerPart",
    "CompleteLayerUpload",
    "PutImage",
)
def _ecr(account: Account, operation: str, params: Params) -> Iterator[Request]:
    for name in params.get("repositoryNames") or [params["repositoryName"]]:
        yield Request(f"ecr:{operation}", account.arn("ecr", f"repository/{name}"))


@rule("codebuild", "StartBuild", "BatchGetBuilds")
def _codebuild(account: Account, operation: str, params: Params) -> Iterator[Request]:
    # A build id is "<project>:<uuid>" (or a build ARN); builds are authorized on their project.
    projects = [params["projectName"]] if "projectName" in params else params["ids"]
    for project in projects:
        name = project.rsplit("build/", 1)[-1].split(":", 1)[0]
        yield Request(f"codebuild:{operation}", account.arn("codebuild", f"project/{name}"))


@rule("iam", "CreateRole", "GetRole", "DeleteRole", "PutRolePolicy", "DeleteRolePolicy", "TagRole", "UntagRole")
def _iam_roles(account: Account, operation: str, params: Params) -> Iterator[Request]:
    name = params["RoleName"]
    if operation == "CreateRole":
        arn = f"arn:{account.partition}:iam::{account.account_id}:role{params.get('Path', '/')}{name}"
        boundary = params.get("PermissionsBoundary")
    else:  # PutRolePolicy is authorized with the role's boundary as iam:PermissionsBoundary
        arn, boundary = account.role_arn(name), account.role(name).boundary if operation == "PutRolePolicy" else None
    yield Request(f"iam:{operation}", arn, (("iam:PermissionsBoundary", boundary),) if boundary else ())
    if operation == "CreateRole" and params.get("Tags"):
        yield Request("iam:TagRole", arn)


@rule("lambda", "Invoke")
def _invoke(account: Account, operation: str, params: Params) -> Iterator[Request]:
    name = params["FunctionName"]
    arn = name if name.startswith("arn:") else account.arn("lambda", f"function:{name}")
    yield Request("lambda:InvokeFunction", arn + (f":{params['Qualifier']}" if params.get("Qualifier") else ""))


@rule("sts", "GetCallerIdentity")
def _caller(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield from ()  # always allowed, whatever the policies say


# ---- The axon CLI's own calls (tests/cdk/test_cli_policy.py): discovery, purge, listings -----------------------


@rule("cloudformation", "DescribeStacks")
def _stacks(account: Account, operation: str, params: Params) -> Iterator[Request]:
    name = params.get("StackName")
    if name is None:  # every stack of the account
        yield Request("cloudformation:DescribeStacks", ANY)
        return
    # A stack's ARN ends in the id CloudFormation generated: stack/<name>/<id>.
    yield Request(
        "cloudformation:DescribeStacks",
        name if name.startswith("arn:") else account.arn("cloudformation", f"stack/{name}/*"),
    )


@rule("s3", "DeleteObject", "DeleteObjects")
def _s3_delete(account: Account, operation: str, params: Params) -> Iterator[Request]:
    # DeleteObjects (multi-object delete) is authorized per object, as each DeleteObject would be.
    for item in params["Delete"]["Objects"] if operation == "DeleteObjects" else [params]:
        action = "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject"
        yield Request(action, account.s3(params["Bucket"], item["Key"]))


@rule("ecs", "ListServices")
def _ecs_list_services(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request("ecs:ListServices", ANY, (("ecs:cluster", account.arn("ecs", f"cluster/{_cluster(params)}")),))


RULES.update({("sagemaker", op): _star("sagemaker") for op in ("ListEndpointConfigs", "ListModels")})
RULES[("ecs", "ListTaskDefinitionFamilies")] = _star("ecs")


# ---- async APIs (issue 15): InvokeEndpointAsync, the per-API SNS topics ----------------------------------------


@rule("sagemaker-runtime", "InvokeEndpointAsync")
def _invoke_async(account: Account, operation: str, params: Params) -> Iterator[Request]:
    """Authorized as ``sagemaker:InvokeEndpointAsync`` on the endpoint; the input object is read by SageMaker as
    the endpoint's execution role, not by the caller."""
    yield Request(
        "sagemaker:InvokeEndpointAsync", account.arn("sagemaker", f"endpoint/{params['EndpointName'].lower()}")
    )


@rule("sns", "CreateTopic")
def _sns_create(account: Account, operation: str, params: Params) -> Iterator[Request]:
    topic = account.arn("sns", params["Name"])
    yield Request("sns:CreateTopic", topic)
    if params.get("Tags"):
        yield Request("sns:TagResource", topic)  # tag-on-create


@rule("sns", "DeleteTopic", "Publish")
def _sns_topic(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request(f"sns:{operation}", params["TopicArn"])


RULES[("sns", "ListTopics")] = _star("sns")


# ---- ECS async APIs (issue 15): the per-API SQS queue and its dead-letter queue -------------------------------


def _queue_arn(account: Account, params: Params) -> str:
    """A queue's ARN from its name or URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""
    name = params.get("QueueName") or str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
    return account.arn("sqs", name)


@rule("sqs", "CreateQueue")
def _sqs_create(account: Account, operation: str, params: Params) -> Iterator[Request]:
    queue = _queue_arn(account, params)
    yield Request("sqs:CreateQueue", queue)
    if params.get("tags"):
        yield Request("sqs:TagQueue", queue)  # tag-on-create needs sqs:TagQueue too


@rule(
    "sqs",
    "GetQueueUrl",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "DeleteQueue",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
)
def _sqs_queue(account: Account, operation: str, params: Params) -> Iterator[Request]:
    yield Request(f"sqs:{operation}", _queue_arn(account, params))
