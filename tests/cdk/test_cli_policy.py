"""Issue 13: the CLI user's IAM policy is proven by the CLI's own calls, as the Lambdas' roles are.

The CLI's commands run end to end on moto, against "AWS" (discovery through CloudFormation DescribeStacks of a
moto ``AxonCore`` stack, statistics from CloudWatch), with every boto3 call recorded through botocore's event
system on the clients the CLI's :class:`CliContext` gets. Each call is turned into the requests AWS would
authorize (``bench.faults.iam``) and checked against the ``axon-cli`` managed policy of the synthesized template,
resolved to the same resources (``bench.faults.iam_policies``). A statement no command uses fails the test unless
:data:`UNUSED` says why it stays, and requests outside axon's names must be denied.

Covered by recorded calls: ``info``, ``deploy`` (``--no-wait``, and followed, as a multipart upload), ``get``
(all, one, ``-o json``), ``history``, ``predict`` (moto's SageMaker Runtime), ``submit`` and ``result`` (moto's
InvokeEndpointAsync, the answer put where SageMaker would), ``rollback``, ``delete`` (an async API's topics too),
``delete --purge``, ``logs``, and for an ECS API (the AxonEcs resources as ``axon local up`` provisions them,
one version deployed by the platform itself, its production rule made as a rollout's shift makes it) ``get``,
``predict`` (HTTP to a stand-in load balancer, after reading ``/axon/ecs/config``), ``logs`` and ``delete``.
Not reached: ``s3:AbortMultipartUpload`` (:data:`UNUSED`), and a rollback's multipart copy (``UploadPartCopy``
above 256 MiB), which AWS authorizes as the ``CopyObject`` recorded here (the same two requests).
"""

from __future__ import annotations

import copy
import json
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from axon import names
from axon.cli import transfer
from axon.cli.app import app
from axon.cli.context import CliContext
from axon.cli.options import Target
from axon.platforms.api_roles import POLICY_NAME
from axon.registry import DynamoDBRegistry, VersionStatus
from bench.faults.iam import ANY, Account, Request, Role, requests
from bench.faults.iam_policies import applies, bucket_keys, permitted, resolver
from cdk_app.constructs.cli_policy import POLICY_FILE, Deployment, cli_policy_document, render
from tests.cdk.conftest import Synth
from tests.functional.cli.conftest import BUCKET, PASS_MACHINE, TABLE, Script, client
from tests.functional.cli.rollouts import intake_of, move, upload, went_live
from tests.local_http import http_server

pytestmark = pytest.mark.xdist_group("cdk")

NOW = float(int(time.time()))  # CloudWatch Logs refuses events older than 14 days
KEY = names.bundle_key("iris")
WORLD = {"AXON_MODELS_BUCKET": BUCKET, "AXON_REGISTRY_TABLE": TABLE}  # what the template's names are here
COMMANDS = (
    "info",
    "deploy --no-wait",
    "deploy (followed, multipart)",
    "get",
    "get NAME -o json",
    "history",
    "predict",
    "submit",
    "result",
    "rollback",
    "logs",
    "delete",
    "delete --purge",
    "get (ECS API) -o json",
    "predict (ECS API)",
    "logs (ECS API)",
    "delete (ECS API)",
    "submit (ECS async API)",
    "get (ECS async API) -o json",
    "delete (ECS async API)",
)
# Statements no recorded command reaches, each with why it stays: action -> reason. Keep it small.
UNUSED = {
    "s3:AbortMultipartUpload": "boto3 aborts a multipart upload that failed part-way, so that its parts do not "
    "linger (and cost) until the bucket's lifecycle removes them",
}


@dataclass(frozen=True)
class CliCall:
    command: str
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class Recorder:
    """A client factory for :class:`CliContext` whose clients record every call they make, per command."""

    command: str = ""
    calls: list[CliCall] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            made = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
            made.meta.events.register("before-parameter-build", partial(self._record, service))
            self._clients[service] = made
        return self._clients[service]

    def _record(self, service: str, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append(CliCall(self.command, service, model.name, dict(params)))


@dataclass
class AwsCli:
    """``axon`` in-process, on "AWS" (no --endpoint-url): discovery reads the moto ``AxonCore`` stack."""

    recorder: Recorder
    script: Script = field(default_factory=Script)

    def __call__(self, command: str, *args: str, input: str | None = None) -> str:
        self.recorder.command = command
        context = CliContext(
            self.recorder.client,
            target=Target(),
            env={},
            sleep=self.script.sleep,
            clock=self.script.clock,
            now=lambda: NOW,
        )
        result = CliRunner().invoke(app, list(args), obj=context, input=input)
        assert result.exit_code == 0, (command, result.output)
        return result.stdout


def _core_stack(state_machine_arn: str) -> None:
    """The AxonCore stack's outputs the CLI reads, in a stack of one placeholder resource."""
    outputs = {
        names.OUTPUT_MODELS_BUCKET: BUCKET,
        names.OUTPUT_REGISTRY_TABLE: TABLE,
        names.OUTPUT_STATE_MACHINE_ARN: state_machine_arn,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto creates the stack, warning that it does not model the placeholder
        warnings.simplefilter("ignore", UserWarning)
        client("cloudformation").create_stack(StackName=names.CORE_STACK, TemplateBody=json.dumps(template))


def _bundle(root: Path, model_bytes: int = 200) -> Path:
    (root / "model").mkdir(parents=True)
    (root / "predictor.py").write_text(
        "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n\n"
        "    def predict(self, payload):\n        return payload\n"
    )
    # Random bytes do not compress, so the packed bundle is as big as the model.
    (root / "model" / "weights.bin").write_bytes(os.urandom(model_bytes))
    return root


def _sagemaker_resources(api: str, label: str) -> None:
    sagemaker = client("sagemaker")
    name = names.model_name(api, label)
    image = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-1"}
    sagemaker.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer=image)
    variant = {"VariantName": names.VARIANT_NAME, "ModelName": name, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    sagemaker.create_endpoint(EndpointName=names.endpoint_name(api), EndpointConfigName=name)


def _log_events(api: str) -> None:
    logs, group = client("logs"), names.log_group(api)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1")
    events = [{"timestamp": int((NOW - 30) * 1000), "message": "loaded"}]
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-1", logEvents=events)


def api_role(api: str) -> None:
    """The API's own role as its first rollout leaves it (axon.platforms.api_roles): what axon delete removes."""
    iam = client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "sagemaker.amazonaws.com"}}
        ],
    }
    name = names.api_role_name(api)
    iam.create_role(RoleName=name, Path=names.API_ROLE_PATH, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=name,
        PolicyName=POLICY_NAME,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )


def _record_sagemaker_commands(cli: AwsCli, registry: DynamoDBRegistry, scratch: Path) -> None:
    cli("info", "info", "-o", "json")
    iris = _bundle(scratch / "iris")
    cli("deploy --no-wait", "deploy", str(iris), "--api", "iris", "--no-wait")
    intake_of(registry, "iris", KEY)()
    went_live(registry, "iris", 1)
    # Above the multipart threshold (lowered to S3's 5 MiB minimum part size): CreateMultipartUpload and parts.
    big = _bundle(scratch / "big", model_bytes=6 * transfer.MiB)
    cli.script.steps = [intake_of(registry, "iris", KEY), move(registry, "iris", 2, VersionStatus.LIVE)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transfer.UPLOAD_CONFIG, "multipart_threshold", 5 * transfer.MiB)
        patch.setattr(transfer.UPLOAD_CONFIG, "multipart_chunksize", 5 * transfer.MiB)
        cli("deploy (followed, multipart)", "deploy", str(big), "--api", "iris")
    assert client("s3").head_object(Bucket=BUCKET, Key=KEY, PartNumber=1)["PartsCount"] == 2
    _sagemaker_resources("iris", "v2")
    cli("get", "get")
    cli("get NAME -o json", "get", "iris", "-o", "json")
    cli("history", "history", "iris")
    cli("predict", "predict", "iris", "--data", '{"x": [1, 2]}')
    submitted = json.loads(cli("submit", "submit", "iris", "--data", '{"x": 1}', "-o", "json"))
    answer_key = names.async_output_key("iris", submitted["inference_id"])
    client("s3").put_object(Bucket=BUCKET, Key=answer_key, Body=b'{"y": 2}', ContentType="application/json")
    assert json.loads(cli("result", "result", submitted["id"])) == {"y": 2}
    for outcome in names.ASYNC_TOPIC_OUTCOMES:  # delete removes an async API's topics
        client("sns").create_topic(Name=names.async_topic_name("iris", outcome))
    cli.script = Script([intake_of(registry, "iris", KEY), move(registry, "iris", 3, VersionStatus.LIVE)])
    assert "rolling iris back to v1" in cli("rollback", "rollback", "iris")
    _log_events("iris")
    assert "loaded" in cli("logs", "logs", "iris", "--since", "1h")
    api_role("iris")
    cli("delete", "delete", "iris", "--yes")
    assert not client("iam").list_roles(PathPrefix=names.API_ROLE_PATH)["Roles"]
    assert not client("sns").list_topics()["Topics"]
    # A second API, purged: its uploads and its workflow copies.
    went_live(registry, "cat", upload(registry, "cat", b"cat model"))
    client("s3").put_object(Bucket=BUCKET, Key=names.immutable_bundle_key("cat", "v1"), Body=b"copy")
    assert "purged 2 object versions" in cli("delete --purge", "delete", "cat", "--purge", "--yes")


@contextmanager
def _load_balancer() -> Iterator[str]:
    """A stand-in for AxonEcs's ALB on a loopback port: ``axon predict`` of an ECS API posts to it over HTTP."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Answer) as url:
        yield url


def _record_ecs_commands(cli: AwsCli, registry: DynamoDBRegistry, alb: str) -> None:
    """An ECS API: AxonEcs's resources as ``axon local up`` provisions them, one version started by the platform
    itself (task definition, target group, service, test rule) and its production rule as a shift leaves it."""
    from axon.platforms.base import VersionRef
    from axon.platforms.ecs import listener as ecs_listener
    from axon.platforms.ecs.platform import EcsPlatform
    from axon.spec import load_spec_text
    from axon_local.ecs import provision_ecs

    config = provision_ecs(client, alb, "us-east-1")  # every instance type, g5.xlarge among them
    platform = EcsPlatform(client("ecs"), client("elbv2"), client("cloudwatch"), config, logs=client("logs"))
    spec = load_spec_text("compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-gpu"
    bundle = f"s3://{BUCKET}/{names.immutable_bundle_key('gpu', 'v1')}"
    platform.deploy(VersionRef(api="gpu", label="v1", spec=spec, image_uri=image, model_data_uri=bundle), None)
    listener = platform._listener
    group = listener.target_group("gpu", "v1")
    assert group is not None
    listener.create_rule("gpu", ecs_listener.production_conditions("gpu"), [(group, 100)], production=True)
    seq = upload(registry, "gpu", b"gpu model")
    registry.set_image("gpu", seq, image)
    assert registry.acquire_lease("gpu", "rollout-gpu", seq, lease_seconds=600)
    registry.go_live("gpu", seq, owner="rollout-gpu", platform="ecs", previous_seq=None, label=f"v{seq}")
    assert registry.release_lease("gpu", "rollout-gpu")
    assert json.loads(cli("get (ECS API) -o json", "get", "gpu", "-o", "json"))["platform"] == "ecs"
    assert json.loads(cli("predict (ECS API)", "predict", "gpu", "--data", "{}")) == {"ok": True}
    _log_events("gpu")
    assert "loaded" in cli("logs (ECS API)", "logs", "gpu", "--since", "1h")
    cli("delete (ECS API)", "delete", "gpu", "--yes")
    assert listener.production_rule("gpu") is None and listener.target_group("gpu", "v1") is None


def _record_ecs_async_commands(cli: AwsCli, registry: DynamoDBRegistry, alb: str) -> None:
    """An async API on ECS (issue 15): its queue, DLQ and topics made by the platform itself; submit sends to the
    queue, get reads which version owns it, delete removes them all."""
    from axon.platforms.base import VersionRef
    from axon.platforms.ecs import queue as ecs_queue
    from axon.platforms.ecs.config import load_ecs_config
    from axon.platforms.ecs.platform import EcsPlatform
    from axon.spec import load_spec_text

    config = load_ecs_config(client("ssm"))  # provisioned by _record_ecs_commands
    sqs, sns = client("sqs"), client("sns")
    platform = EcsPlatform(
        client("ecs"), client("elbv2"), client("cloudwatch"), config, logs=client("logs"), sqs=sqs, sns=sns
    )
    spec = load_spec_text("kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-gpu"
    bundle = f"s3://{BUCKET}/{names.immutable_bundle_key('queued', 'v1')}"
    platform.deploy(VersionRef(api="queued", label="v1", spec=spec, image_uri=image, model_data_uri=bundle), None)
    queue = sqs.get_queue_url(QueueName=names.async_queue_name("queued"))["QueueUrl"]
    ecs_queue.tag(sqs, queue, {ecs_queue.TAG_LIVE: "v1"})  # as the rollout leaves a live version
    seq = upload(registry, "queued", b"queued model")
    registry.set_image("queued", seq, image)
    assert registry.acquire_lease("queued", "rollout-queued", seq, lease_seconds=600)
    registry.go_live("queued", seq, owner="rollout-queued", platform="ecs", previous_seq=None, label=f"v{seq}")
    assert registry.release_lease("queued", "rollout-queued")
    submitted = json.loads(cli("submit (ECS async API)", "submit", "queued", "--data", "{}", "-o", "json"))
    assert submitted["output_location"].endswith(names.async_output_key("queued", submitted["inference_id"]))
    assert json.loads(cli("get (ECS async API) -o json", "get", "queued", "-o", "json"))["platform"] == "ecs"
    cli("delete (ECS async API)", "delete", "queued", "--yes")
    assert not sqs.list_queues().get("QueueUrls") and not sns.list_topics()["Topics"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[CliCall]]:
    """Every call of :data:`COMMANDS`, in one fresh moto account laid out as the functional CLI tests lay it."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_REGION", "AWS_ENDPOINT_URL", "AXON_DEBUG", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        from axon_local.provision import create_registry_table

        create_registry_table(client("dynamodb"), TABLE)
        machine = client("stepfunctions").create_state_machine(
            name=names.STATE_MACHINE, definition=PASS_MACHINE, roleArn="arn:aws:iam::123456789012:role/x"
        )["stateMachineArn"]
        _core_stack(machine)
        recorder = Recorder()
        registry = DynamoDBRegistry(TABLE, client("dynamodb"))
        _record_sagemaker_commands(AwsCli(recorder), registry, tmp_path_factory.mktemp("bundles"))
        with _load_balancer() as alb:
            _record_ecs_commands(AwsCli(recorder), registry, alb)
            _record_ecs_async_commands(AwsCli(recorder), registry, alb)
        yield recorder.calls


@dataclass(frozen=True)
class CliPolicy:
    account: Account
    document: dict[str, Any]  # resolved to the test account's names


@pytest.fixture(scope="module")
def policy(synth: Synth) -> CliPolicy:
    found = resolver(synth.template.to_json(), WORLD, Account())
    # The one API role the commands meet (the one axon delete removes), at axon's path, as IAM names it.
    roles = {names.api_role_name("iris"): Role(path=names.API_ROLE_PATH)}
    found.account = Account(bucket_keys=bucket_keys(found), roles=roles)
    (resource,) = [
        r
        for r in synth.of_type("AWS::IAM::ManagedPolicy").values()
        if r["Properties"].get("ManagedPolicyName") == names.CLI_POLICY
    ]
    return CliPolicy(found.account, found.resolve(resource["Properties"]["PolicyDocument"]))


def _requests(policy: CliPolicy, calls: list[CliCall]) -> Iterator[tuple[CliCall, Request]]:
    for call in calls:
        for request in requests(policy.account, call.service, call.operation, call.params):
            yield call, request


def test_every_command_is_recorded(recorded: list[CliCall]) -> None:
    assert {call.command for call in recorded} == set(COMMANDS)


def test_every_call_the_cli_makes_is_permitted(policy: CliPolicy, recorded: list[CliCall]) -> None:
    denied = sorted(
        {
            f"{call.command}: {request} (for {call.service}:{call.operation})"
            for call, request in _requests(policy, recorded)
            if not permitted([policy.document], request)
        }
    )
    assert not denied, f"{len(denied)} requests the axon-cli policy does not allow:\n" + "\n".join(denied)


def test_every_granted_permission_is_used_or_explained(policy: CliPolicy, recorded: list[CliCall]) -> None:
    """Per action and per resource of each statement: a resource pattern no request reaches is unused too."""
    pairs = [
        (f"{s['Sid']}: {action} on {resource}", action, {**s, "Action": action, "Resource": resource})
        for s in policy.document["Statement"]
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    found = [request for _, request in _requests(policy, recorded)]
    unused = [(name, action) for name, action, single in pairs if not any(applies(single, r) for r in found)]
    unexplained = [name for name, action in unused if action not in UNUSED]
    assert not unexplained, f"{len(unexplained)} grants no CLI command uses:\n" + "\n".join(unexplained)
    assert UNUSED.keys() <= {action for _, action in unused}, "UNUSED entries now used: remove them"


def test_removing_a_statement_makes_its_calls_denied(policy: CliPolicy, recorded: list[CliCall]) -> None:
    """The check can fail: without the Endpoints statement, predict's InvokeEndpoint is denied."""
    (invoke,) = [r for call, r in _requests(policy, recorded) if r.action == "sagemaker:InvokeEndpoint"]
    assert permitted([policy.document], invoke)
    statements = [s for s in policy.document["Statement"] if s["Sid"] != "Endpoints"]
    assert not permitted([{**policy.document, "Statement": statements}], invoke)


def _outside(account: Account) -> list[Request]:
    """Requests on what is not axon's, or not the CLI's to touch: each must be denied."""
    other_endpoint = account.arn("sagemaker", "endpoint/prod-model")
    return [
        Request("s3:GetObject", account.s3("someone-elses-bucket", "data.csv")),
        Request("s3:GetObjectVersion", account.s3("someone-elses-bucket", "apis/iris/bundle.tar.gz")),
        Request("s3:PutObject", account.s3("someone-elses-bucket", "apis/iris/bundle.tar.gz")),
        Request("s3:PutObject", account.s3(BUCKET, "versions/iris/v1/bundle.tar.gz")),  # the workflow's copies
        Request("s3:PutObject", account.s3(BUCKET, "results/iris/0123.out")),  # answers are the endpoint's to write
        Request("s3:GetObject", account.s3(BUCKET, "inputs/iris/0123")),  # submit writes inputs, never reads them
        Request("s3:ListBucket", account.s3(BUCKET), (("s3:prefix", "inputs/"),)),
        Request("s3:DeleteObjectVersion", account.s3(BUCKET, "results/iris/out.json")),
        Request("s3:DeleteObject", account.s3(BUCKET, "apis/iris/bundle.tar.gz")),
        Request("s3:ListBucketVersions", account.s3(BUCKET)),  # the whole bucket, no prefix
        Request("s3:ListBucketVersions", account.s3(BUCKET), (("s3:prefix", "results/"),)),
        Request("s3:PutBucketPolicy", account.s3(BUCKET)),
        Request("kms:Decrypt", account.bucket_keys[BUCKET]),  # not through S3
        Request("sagemaker:DeleteEndpoint", other_endpoint),
        Request("sagemaker:InvokeEndpoint", other_endpoint),
        Request("sagemaker:DescribeEndpoint", other_endpoint),
        Request("sagemaker:DeleteModel", account.arn("sagemaker", "model/prod-model")),
        Request("sagemaker:CreateEndpoint", account.arn("sagemaker", "endpoint/axon-iris")),  # the workflow's job
        Request("cloudwatch:DeleteAlarms", account.arn("cloudwatch", "alarm:AxonPlatform-RolloutsTimedOut")),
        Request("logs:FilterLogEvents", account.arn("logs", "log-group:/aws/lambda/axon-deploy-version")),
        Request("dynamodb:Scan", account.arn("dynamodb", f"table/{TABLE}")),
        Request("dynamodb:DeleteItem", account.arn("dynamodb", f"table/{TABLE}")),
        Request("dynamodb:GetItem", account.arn("dynamodb", "table/orders")),
        Request("cloudformation:DescribeStacks", account.arn("cloudformation", "stack/Payments/*")),
        Request("cloudformation:DeleteStack", account.arn("cloudformation", f"stack/{names.CORE_STACK}/*")),
        Request("states:StartExecution", account.arn("states", f"stateMachine:{names.STATE_MACHINE}")),
        Request("ssm:GetParameter", account.arn("ssm", "parameter/prod/db-password")),
        Request("ecs:DeleteService", account.arn("ecs", "service/payments/axon-iris-v1")),
        Request("ecs:DeleteService", account.arn("ecs", f"service/{names.ECS_CLUSTER}/web")),
        Request("ecs:ListServices", ANY, (("ecs:cluster", account.arn("ecs", "cluster/payments")),)),
        Request("elasticloadbalancing:DeleteRule", account.arn("elasticloadbalancing", "listener-rule/app/web/1/2/3")),
        Request("elasticloadbalancing:DeleteTargetGroup", account.arn("elasticloadbalancing", "targetgroup/web/1")),
        Request("iam:PassRole", f"arn:aws:iam::{account.account_id}:role/axon-sagemaker-execution"),
        Request("iam:CreateRole", f"arn:aws:iam::{account.account_id}:role/axon/api/axon-api-iris"),
        Request("iam:DeleteRole", f"arn:aws:iam::{account.account_id}:role/axon-api-iris"),  # not at axon's path
        Request("iam:DeleteRole", f"arn:aws:iam::{account.account_id}:role/axon/api/admin"),
        Request("iam:GetRole", f"arn:aws:iam::{account.account_id}:role/admin"),
    ]


def test_nothing_outside_axons_resources_is_permitted(policy: CliPolicy) -> None:
    allowed = [str(request) for request in _outside(policy.account) if permitted([policy.document], request)]
    assert not allowed, "the axon-cli policy allows requests outside axon's resources:\n" + "\n".join(allowed)


def _normal(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Statements by Sid, every value a list: CDK writes a one-item list as its item, and IAM reads both alike."""

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    statements = {}
    for statement in copy.deepcopy(document["Statement"]):
        for key in ("Action", "Resource"):
            statement[key] = sorted(listed(statement[key]))  # CDK sorts them (minimizePolicies)
        for keys in statement.get("Condition", {}).values():
            keys.update({k: listed(v) for k, v in keys.items()})
        statements[statement["Sid"]] = statement
    return statements


def test_the_stack_and_the_file_hold_one_definition(policy: CliPolicy) -> None:
    account = policy.account
    here = Deployment(account.partition, account.account_id, account.region, BUCKET, account.bucket_keys[BUCKET])
    assert _normal(policy.document) == _normal(cli_policy_document(here))
    assert POLICY_FILE.exists(), "docs/iam/axon-cli-policy.json is missing: run `make cli-policy`"
    assert POLICY_FILE.read_text() == render(), "docs/iam/axon-cli-policy.json is stale: run `make cli-policy`"


def test_the_stack_outputs_the_policy_arn(synth: Synth) -> None:
    (logical,) = [
        k
        for k, r in synth.of_type("AWS::IAM::ManagedPolicy").items()
        if r["Properties"].get("ManagedPolicyName") == names.CLI_POLICY
    ]
    assert synth.template.to_json()["Outputs"][names.OUTPUT_CLI_POLICY_ARN]["Value"] == {"Ref": logical}
