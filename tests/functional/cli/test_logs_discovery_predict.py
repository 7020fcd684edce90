"""``axon logs`` against CloudWatch Logs, platform discovery both ways, and ``axon predict``'s error mapping."""

import contextlib
import io
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from axon import names
from axon.cli.app import app
from axon.cli.context import CliContext
from axon.registry import DynamoDBRegistry
from tests.functional.cli.conftest import Cli, client, one_error_line
from tests.functional.cli.rollouts import upload, went_live

GROUP = names.log_group("iris")
NOW = float(int(time.time()))  # CloudWatch Logs refuses events older than 14 days


def _put(stream: str, *events: tuple[float, str]) -> None:
    logs = client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at * 1000), "message": message} for at, message in events],
    )


@pytest.fixture
def log_group(cli: Cli) -> None:
    cli.now = NOW
    client("logs").create_log_group(logGroupName=GROUP)


def test_logs_interleave_streams_in_time_order(cli: Cli, log_group: None) -> None:
    _put("AllTraffic/i-1", (NOW - 50, "first"), (NOW - 10, "third"))
    _put("AllTraffic/i-2", (NOW - 30, "second"))
    _put("AllTraffic/i-3", (NOW - 7200, "too old"))
    result = cli("logs", "iris", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert [line.split()[-1] for line in result.stdout.splitlines()] == ["first", "second", "third"]
    assert "AllTraffic/i-2" in result.stdout.splitlines()[1]


def test_logs_json_is_one_object_per_line(cli: Cli, log_group: None) -> None:
    _put("s", (NOW - 5, "hello"))
    result = cli("logs", "iris", "-o", "json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "timestamp": datetime.fromtimestamp(NOW - 5, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "stream": "s",
            "message": "hello",
        }
    ]


def test_follow_prints_new_events_once_and_ctrl_c_exits_0(cli: Cli, log_group: None) -> None:
    _put("s", (NOW - 5, "one"))

    def interrupt() -> None:
        raise KeyboardInterrupt

    cli.script.steps = [lambda: _put("s", (NOW - 5, "two"), (NOW - 1, "three")), lambda: None, interrupt]
    result = cli("logs", "iris", "--follow")
    assert result.exit_code == 0, result.output
    assert [line.split()[-1] for line in result.stdout.splitlines()] == ["one", "two", "three"]


def test_logs_of_an_api_without_a_log_group(cli: Cli) -> None:
    assert f"log group {GROUP} does not exist" in one_error_line(cli("logs", "iris"))


def test_follow_waits_for_the_log_group(cli: Cli) -> None:
    cli.now = NOW

    def interrupt() -> None:
        raise KeyboardInterrupt

    def appear() -> None:
        client("logs").create_log_group(logGroupName=GROUP)
        _put("s", (NOW - 1, "up"))

    cli.script.steps = [appear, interrupt]
    result = cli("logs", "iris", "-f")
    assert result.exit_code == 0, result.output
    assert "waiting for log group" in result.stderr and result.stdout.split()[-1] == "up"


def test_a_bad_since_is_one_line(cli: Cli) -> None:
    assert "--since 'soon'" in one_error_line(cli("logs", "iris", "--since", "soon"))


# ---- discovery ------------------------------------------------------------------------------------------------


class FakeCloudFormation:
    """DescribeStacks of the AxonCore stack (moto's CloudFormation costs seconds to load for three tests)."""

    def __init__(self, outputs: dict[str, str] | None) -> None:
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if self.outputs is None:
            message = f"Stack with id {StackName} does not exist"
            raise ClientError({"Error": {"Code": "ValidationError", "Message": message}}, "DescribeStacks")
        outputs = [{"OutputKey": key, "OutputValue": value} for key, value in self.outputs.items()]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}


def _on_aws(outputs: dict[str, str] | None) -> CliContext:
    stack = FakeCloudFormation(outputs)
    return CliContext(lambda service: stack if service == "cloudformation" else client(service), env={})


def test_on_aws_the_core_stack_outputs_name_the_resources(aws: None) -> None:
    context = _on_aws(
        {
            names.OUTPUT_MODELS_BUCKET: "prod-models",
            names.OUTPUT_REGISTRY_TABLE: "prod-registry",
            names.OUTPUT_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        }
    )
    deployment = context.deployment
    assert (deployment.bucket, deployment.table, deployment.local_url) == ("prod-models", "prod-registry", None)
    assert context.registry.table == "prod-registry"
    assert (
        context.runtime_url("iris")
        == "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/axon-iris/invocations"
    )


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (
            None,
            "error: cli.discovery: no AxonCore stack in us-east-1: run `cdk deploy` (or pass --region or --profile), "
            "or for the local stack pass --endpoint-url or export AXON_ENDPOINT_URL",
        ),
        (
            {names.OUTPUT_MODELS_BUCKET: "b"},
            f"lacks the outputs {names.OUTPUT_REGISTRY_TABLE}, {names.OUTPUT_STATE_MACHINE_ARN}",
        ),
    ],
)
def test_on_aws_without_a_usable_core_stack(aws: None, outputs: dict[str, str] | None, expected: str) -> None:
    result = CliRunner().invoke(app, ["get"], obj=_on_aws(outputs))
    assert expected in one_error_line(result)


def test_a_local_stack_without_the_state_machine(cli: Cli) -> None:
    client("stepfunctions").delete_state_machine(
        stateMachineArn=client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]
    )
    assert "has no state machine axon-rollout" in one_error_line(cli("get"))


# ---- predict --------------------------------------------------------------------------------------------------


class FakeRuntime:
    def __init__(self, answer: bytes | ClientError) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if isinstance(self.answer, ClientError):
            raise self.answer
        return {"Body": io.BytesIO(self.answer), "ContentType": "application/json"}


@pytest.fixture
def iris(registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris"))


def _predict(cli: Cli, runtime: FakeRuntime, *args: str, stdin: bytes | None = None) -> Any:
    cli.overrides["sagemaker-runtime"] = runtime
    return cli("predict", *args, input=stdin)


def test_predict_prints_the_body(cli: Cli, iris: None) -> None:
    runtime = FakeRuntime(b'{"label": "setosa"}')
    result = _predict(cli, runtime, "iris", "--data", '{"x": [1, 2]}')
    assert result.exit_code == 0 and result.stdout.strip() == '{"label": "setosa"}'
    assert runtime.calls == [{"EndpointName": "axon-iris", "Body": b'{"x": [1, 2]}', "ContentType": "application/json"}]


def test_predict_reads_a_file(cli: Cli, iris: None, tmp_path: Any) -> None:
    (tmp_path / "p.csv").write_bytes(b"1,2\n")
    runtime = FakeRuntime(b"ok")
    result = _predict(cli, runtime, "iris", "--data", f"@{tmp_path / 'p.csv'}", "--content-type", "text/csv")
    assert result.exit_code == 0 and runtime.calls[0]["Body"] == b"1,2\n"


def test_predict_reads_stdin(cli: Cli, iris: None) -> None:
    runtime = FakeRuntime(b"ok")
    result = _predict(cli, runtime, "iris", "--data", "@-", stdin=b'{"from": "stdin"}')
    assert result.exit_code == 0 and runtime.calls[0]["Body"] == b'{"from": "stdin"}'


def _error(code: str, message: str, **extra: Any) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, **extra}
    return ClientError(response, "InvokeEndpoint")


@pytest.mark.parametrize(
    ("answer", "args", "expected"),
    [
        (
            _error("ModelError", "Received server error (500)", OriginalStatusCode=500),
            ["--data", "{}"],
            "error: predict.model_error: iris answered HTTP 500: Received server error (500) (axon logs iris)",
        ),
        (
            _error("ValidationError", "Endpoint axon-iris of account 123456789012 not found."),
            ["--data", "{}"],
            "error: cli.not_found: iris has no endpoint axon-iris: is it live? (axon get iris)",
        ),
        (
            _error("ThrottlingException", "Rate exceeded"),
            ["--data", "{}"],
            "error: InvokeEndpoint failed: ThrottlingException: Rate exceeded",
        ),
        (
            b"",
            ["--data", "{not json"],
            "error: cli.invalid_input: --data is not JSON (Expecting property name enclosed in double quotes at column 2)",
        ),
    ],
)
def test_predict_errors_are_one_line(
    cli: Cli, iris: None, answer: bytes | ClientError, args: list[str], expected: str
) -> None:
    result = _predict(cli, FakeRuntime(answer), "iris", *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == expected
