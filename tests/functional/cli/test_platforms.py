"""Platform-aware commands: ``predict``, ``get`` (URL, statistics, replicas by version, ``--watch``) and ``logs`` for
ECS APIs next to SageMaker ones.

The ECS world is AxonEcs as ``axon local up`` provisions it in moto (``provision_ecs``), with versions started by
the ECS platform itself; the load balancer's data plane is a small HTTP server at ``EcsConfig.url``.
"""

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.exceptions import ClientError

from axon import names
from axon.cli import predict as predict_module
from axon.cli.stats import AlbTargets, ApiStats, CloudWatchStats
from axon.platforms.base import VersionRef
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig, JwtAuth
from axon.platforms.ecs.platform import EcsPlatform
from axon.registry import DynamoDBRegistry, VersionStatus
from axon.spec import load_spec_text
from tests.functional.cli.conftest import BUCKET, TABLE, Cli, client, one_error_line
from tests.functional.cli.rollouts import upload, went_live
from tests.functional.cli.test_logs_discovery_predict import FakeCloudFormation
from tests.local_http import http_server
from tests.unit.cli.test_stats import FakeCloudWatch

SPEC = load_spec_text("compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-gpu"


# ---- the load balancer's data plane ---------------------------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"label": "cat"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass
class Alb:
    url: str
    answer: Answer = field(default_factory=Answer)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def alb() -> Iterator[Alb]:
    state = Alb("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = state.answer
            time.sleep(answer.delay)
            self.send_response(answer.status)  # with a Server header: version_string()
            for key, value in answer.headers.items():
                if key != "Server":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def version_string(self) -> str:
            return state.answer.headers.get("Server", "uvicorn")  # the ALB's own answers say awselb/2.0

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        state.url = url
        yield state


# ---- the ECS world --------------------------------------------------------------------------------------------


@dataclass
class Ecs:
    config: EcsConfig
    platform: EcsPlatform

    def start(self, api: str, label: str) -> str:
        """A version's task definition, target group and service, as the platform's deploy() makes them."""
        bundle = f"s3://{BUCKET}/{names.immutable_bundle_key(api, label)}"
        version = VersionRef(api=api, label=label, spec=SPEC, image_uri=IMAGE, model_data_uri=bundle)
        self.platform.deploy(version, None)
        group = self.platform._listener.target_group(api, label)
        assert group is not None
        return group

    def route(self, api: str, weighted: list[tuple[str, int]]) -> None:
        """The production rule as a shift leaves it."""
        listener = self.platform._listener
        rule = listener.production_rule(api)
        if rule is None:
            listener.create_rule(api, ecs_listener.production_conditions(api), weighted, production=True)
        else:
            listener.set_weights(api, rule["RuleArn"], weighted)

    def set_auth(self, auth: JwtAuth | None, url: str | None = None) -> None:
        self.config = self.config.model_copy(update={"auth": auth, "url": url or self.config.url})
        client("ssm").put_parameter(
            Name=ECS_CONFIG_PARAMETER, Type="String", Value=self.config.model_dump_json(), Overwrite=True
        )


def _ecs(url: str) -> Ecs:
    from axon_local.ecs import provision_ecs

    config = provision_ecs(client, url, "us-east-1", instance_types=("g5.xlarge",))
    platform = EcsPlatform(client("ecs"), client("elbv2"), client("cloudwatch"), config, logs=client("logs"))
    return Ecs(config, platform)


@pytest.fixture
def gpu(aws: None, registry: DynamoDBRegistry, alb: Alb) -> Ecs:
    """ECS API ``gpu``: v1 live, its production rule forwarding to v1's target group."""
    ecs = _ecs(alb.url)
    ecs.route("gpu", [(ecs.start("gpu", "v1"), 100)])
    ecs.platform._listener.delete_test_rules("gpu")  # as going live does
    went_live(registry, "gpu", upload(registry, "gpu", b"gpu model"), platform="ecs")
    return ecs


# ---- predict --------------------------------------------------------------------------------------------------


def test_predict_posts_an_ecs_api_through_the_load_balancer(cli: Cli, gpu: Ecs, alb: Alb) -> None:
    result = cli("predict", "gpu", "--data", '{"x": [1, 2]}')
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '{"label": "cat"}'
    [(path, headers, body)] = alb.requests
    assert (path, body) == ("/apis/gpu/invocations", b'{"x": [1, 2]}')
    assert headers["content-type"] == "application/json" and "authorization" not in headers


def test_a_token_is_sent_only_where_the_load_balancer_verifies_jwts(cli: Cli, gpu: Ecs, alb: Alb) -> None:
    assert cli("predict", "gpu", "--data", "{}", "--token", "t0").exit_code == 0
    assert "authorization" not in alb.requests[-1][1]  # no JWT verification: the token goes nowhere
    gpu.set_auth(JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks"))
    assert cli("predict", "gpu", "--data", "{}", "--token", "t1").exit_code == 0
    assert alb.requests[-1][1]["authorization"] == "Bearer t1"


def test_the_token_comes_from_axon_token(cli: Cli, gpu: Ecs, alb: Alb, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu.set_auth(JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks"))
    monkeypatch.setenv("AXON_TOKEN", "from-env")
    assert cli("predict", "gpu", "--data", "{}").exit_code == 0
    assert alb.requests[-1][1]["authorization"] == "Bearer from-env"


def test_without_a_token_a_jwt_protected_api_is_refused_before_any_request(cli: Cli, gpu: Ecs, alb: Alb) -> None:
    gpu.set_auth(JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks"))
    line = one_error_line(cli("predict", "gpu", "--data", "{}"))
    assert line == (
        "error: predict.unauthorized: gpu is behind JWT verification (issuer https://idp.example.com/): "
        "pass --token or export AXON_TOKEN"
    )
    assert alb.requests == []


def test_a_token_never_goes_over_plain_http_to_another_host(cli: Cli, gpu: Ecs, alb: Alb) -> None:
    auth = JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks")
    gpu.set_auth(auth, url="http://axon-alb.example.com")
    line = one_error_line(cli("predict", "gpu", "--data", "{}", "--token", "secret"))
    assert (
        line == "error: predict.unauthorized: refusing to send a bearer token over plain HTTP to axon-alb.example.com"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            Answer(500, b'{"error": "predict() raised ValueError: bad shape"}'),
            'error: predict.model_error: gpu answered HTTP 500: {"error": "predict() raised ValueError: bad shape"} '
            "(axon logs gpu)",
        ),
        (
            Answer(503, b"<html>503</html>", {"Server": "awselb/2.0"}),
            "error: predict.unavailable: the load balancer answered HTTP 503 for gpu: no healthy replica takes "
            "requests (axon get gpu)",
        ),
        (
            Answer(401, b"", {"Server": "awselb/2.0"}),
            "error: predict.unauthorized: the load balancer refused the request to gpu (HTTP 401): no token",
        ),
        (
            Answer(404, b"Not Found", {"Server": "awselb/2.0"}),
            "error: cli.not_found: nothing answers {url}/apis/gpu/invocations (HTTP 404): is gpu live? (axon get gpu)",
        ),
        (
            Answer(301, b"", {"Location": "https://models.example.com/apis/gpu/invocations"}),
            "error: predict.unavailable: {url}/apis/gpu/invocations redirects to "
            "https://models.example.com/apis/gpu/invocations (HTTP 301): /axon/ecs/config's url is not the API's",
        ),
    ],
)
def test_ecs_predict_errors_are_one_line(cli: Cli, gpu: Ecs, alb: Alb, answer: Answer, expected: str) -> None:
    alb.answer = answer
    assert one_error_line(cli("predict", "gpu", "--data", "{}")) == expected.replace("{url}", alb.url)
    assert len(alb.requests) == 1  # no redirect followed, no retry


def test_an_answer_over_the_cap_is_refused(cli: Cli, gpu: Ecs, alb: Alb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(predict_module, "MAX_RESPONSE_BYTES", 1024)
    monkeypatch.setattr(predict_module, "_CHUNK", 100)
    alb.answer = Answer(200, b"x" * 1025)
    line = one_error_line(cli("predict", "gpu", "--data", "{}"))
    assert line.startswith("error: predict.response_too_large: ") and "answered more than" in line


def test_a_slow_answer_is_cut_at_the_timeout(cli: Cli, gpu: Ecs, alb: Alb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(predict_module, "TIMEOUT_SECONDS", 0.2)
    alb.answer = Answer(delay=1.0)
    line = one_error_line(cli("predict", "gpu", "--data", "{}"))
    assert line == f"error: predict.unavailable: no answer from {alb.url}/apis/gpu/invocations within 0.2 s"


def test_an_unreachable_load_balancer_is_one_line(cli: Cli, gpu: Ecs) -> None:
    gpu.set_auth(None, url="http://127.0.0.1:9")  # discard port: nothing listens
    line = one_error_line(cli("predict", "gpu", "--data", "{}"))
    assert line.startswith("error: predict.unavailable: cannot reach http://127.0.0.1:9/apis/gpu/invocations: ")


def test_predict_of_an_unknown_or_deleted_api(cli: Cli, registry: DynamoDBRegistry) -> None:
    assert one_error_line(cli("predict", "nope", "--data", "{}")) == (
        "error: cli.not_found: no API named 'nope' (see `axon get`)"
    )
    went_live(registry, "old", upload(registry, "old"))
    registry.mark_deleted("old")
    assert one_error_line(cli("predict", "old", "--data", "{}")) == (
        "error: cli.not_found: old was deleted (axon history old shows its versions)"
    )


def test_an_ecs_api_without_axon_ecs_is_one_line(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "gpu", upload(registry, "gpu"), platform="ecs")
    line = one_error_line(cli("predict", "gpu", "--data", "{}"))
    assert line.startswith("error: platform.ecs_not_configured: ")


# ---- get ------------------------------------------------------------------------------------------------------


def test_get_shows_the_url_clients_of_each_platform_call(cli: Cli, gpu: Ecs, alb: Alb, registry: Any) -> None:
    went_live(registry, "iris", upload(registry, "iris"))
    views = {v["name"]: v for v in json.loads(cli("get", "-o", "json").stdout)}
    assert views["gpu"]["url"] == f"{alb.url}/apis/gpu/invocations" and views["gpu"]["platform"] == "ecs"
    assert views["iris"]["url"] == "http://127.0.0.1:4566/endpoints/axon-iris/invocations"
    detail = cli("get", "gpu")
    assert f"{alb.url}/apis/gpu/invocations" in detail.stdout and "ecs" in detail.stdout


def test_get_without_the_ecs_config_warns_and_shows_no_url(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "gpu", upload(registry, "gpu"), platform="ecs")
    result = cli("get", "gpu", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["url"] is None
    assert "warning: the URL of ECS APIs is unknown: " in " ".join(result.stderr.split())


def test_get_splits_ecs_replicas_by_version_during_a_rollout(cli: Cli, gpu: Ecs, registry: DynamoDBRegistry) -> None:
    blue = gpu.platform._listener.target_group("gpu", "v1")
    assert blue is not None
    seq = upload(registry, "gpu", b"v2")
    green = gpu.start("gpu", f"v{seq}")
    gpu.route("gpu", [(blue, 90), (green, 10)])
    registry.set_status("gpu", seq, VersionStatus.SHIFTING, "10% of traffic on v2", traffic_percent=10)
    replicas = json.loads(cli("get", "gpu", "-o", "json").stdout)["replicas"]
    # moto starts no task: each service asks for one replica and runs none
    assert replicas["by_version"] == {"v2": {"requested": 1, "ready": 0}, "v1": {"requested": 1, "ready": 0}}
    assert (replicas["up_to_date"], replicas["stale"]) == (0, 0)
    table = cli("get")
    assert "up-to-date/stale" in table.stdout and "0/0" in table.stdout
    assert "v2 0/1, v1 0/1" in cli("get", "gpu").stdout


class FakeSageMaker:
    """DescribeEndpoint during a blue/green update: v1's fleet serves, v2's is starting."""

    def __init__(self) -> None:
        self.endpoint = {
            "EndpointName": "axon-iris",
            "EndpointConfigName": "axon-iris-v1",
            "EndpointStatus": "Updating",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 3, "DesiredInstanceCount": 3}],
            "PendingDeploymentSummary": {
                "EndpointConfigName": "axon-iris-v2",
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 2}
                ],
            },
        }

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        assert EndpointName == "axon-iris"
        return self.endpoint


def test_get_splits_sagemaker_replicas_by_version(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris", b"one"))
    seq = upload(registry, "iris", b"two")
    registry.set_status("iris", seq, VersionStatus.DEPLOYING, "deploying v2")
    sagemaker = FakeSageMaker()
    cli.overrides["sagemaker"] = sagemaker
    replicas = json.loads(cli("get", "iris", "-o", "json").stdout)["replicas"]
    assert replicas == {
        "requested": 3,
        "ready": 3,
        "up_to_date": 1,
        "stale": 3,
        "by_version": {"v2": {"requested": 2, "ready": 1}, "v1": {"requested": 3, "ready": 3}},
    }
    # the update went through: one fleet, on the live version
    went_live(registry, "iris", seq)
    sagemaker.endpoint.update(
        EndpointConfigName="axon-iris-v2",
        EndpointStatus="InService",
        ProductionVariants=[{"VariantName": "AllTraffic", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2}],
    )
    del sagemaker.endpoint["PendingDeploymentSummary"]
    replicas = json.loads(cli("get", "iris", "-o", "json").stdout)["replicas"]
    assert (replicas["up_to_date"], replicas["stale"]) == (2, 0)


def _on_aws(cli: Cli) -> Cli:
    outputs = {
        names.OUTPUT_MODELS_BUCKET: BUCKET,
        names.OUTPUT_REGISTRY_TABLE: TABLE,
        names.OUTPUT_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:axon-rollout",
    }
    cli.endpoint_url = None
    cli.overrides["cloudformation"] = FakeCloudFormation(outputs)
    return cli


def test_get_on_aws_reads_ecs_statistics_from_the_target_groups(cli: Cli, gpu: Ecs, registry: DynamoDBRegistry) -> None:
    blue = gpu.platform._listener.target_group("gpu", "v1")
    assert blue is not None
    green = gpu.start("gpu", "v2")
    gpu.route("gpu", [(blue, 75), (green, 25)])
    went_live(registry, "iris", upload(registry, "iris"))
    _on_aws(cli)
    cli.stats.stats["gpu"] = ApiStats(count_2xx=5)
    result = cli("get", "-o", "json")
    assert result.exit_code == 0, result.output
    assert cli.stats.asked == [["gpu", "iris"]]
    load_balancer = ecs_listener.load_balancer_dimension(gpu.config.listener_arn)
    groups = (ecs_listener.arn_resource(blue), ecs_listener.arn_resource(green))
    assert cli.stats.ecs == [{"gpu": AlbTargets(load_balancer, groups)}]
    assert {v["name"]: v["requests"]["2xx"] for v in json.loads(result.stdout)} == {"gpu": 5, "iris": None}


def test_get_on_aws_asks_one_get_metric_data_for_both_platforms(cli: Cli, gpu: Ecs, registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris"))
    _on_aws(cli)
    cloudwatch = FakeCloudWatch(
        {
            "a0_inflight": [2.0],
            "a0_t0_p50": [0.012],
            "a0_t0_p99": [0.25],
            "a0_t0_calls": [10.0],
            "a0_t0_c2xx": [9.0],
            "a0_t0_c5xx": [1.0],
            "a1_calls": [4.0],
        },
        page_size=500,
    )
    cli.stats = CloudWatchStats(cloudwatch, lambda: cli.now)  # type: ignore[assignment]
    views = {v["name"]: v for v in json.loads(cli("get", "-o", "json").stdout)}
    [request] = cloudwatch.requests
    namespaces = {q["MetricStat"]["Metric"]["Namespace"] for q in request["MetricDataQueries"]}
    assert namespaces == {"Axon", "AWS/ApplicationELB", "AWS/SageMaker"}
    assert (views["gpu"]["in_flight"], views["gpu"]["latency_ms"]) == (2.0, {"p50": 12.0, "p99": 250.0})
    assert views["gpu"]["requests"] == {"2xx": 9, "4xx": 0, "5xx": 1}
    assert views["iris"]["requests"] == {"2xx": 4, "4xx": None, "5xx": None}


def test_get_on_the_local_stack_reads_ecs_statistics_from_the_front_door(
    cli: Cli, gpu: Ecs, registry: DynamoDBRegistry
) -> None:
    cli.stats.stats["gpu"] = ApiStats(in_flight=1.0, count_2xx=3)
    view = json.loads(cli("get", "gpu", "-o", "json").stdout)
    assert (view["in_flight"], view["requests"]["2xx"]) == (1.0, 3)
    assert cli.stats.asked == [["gpu"]] and cli.stats.ecs == [{}]  # no DescribeRules: the front door counts


class DeniedListServices:
    """moto's ECS client, but ListServices is denied (a CLI policy from before replicas by version)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(client("ecs"), name)

    def get_paginator(self, name: str) -> Any:
        if name == "list_services":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ListServices")
        return client("ecs").get_paginator(name)


def test_replicas_by_version_that_cannot_be_read_are_a_warning(cli: Cli, gpu: Ecs) -> None:
    cli.overrides["ecs"] = DeniedListServices()
    result = cli("get", "gpu", "-o", "json")
    assert result.exit_code == 0, result.output
    replicas = json.loads(result.stdout)["replicas"]
    assert (replicas["requested"], replicas["up_to_date"], replicas["by_version"]) == (1, None, None)
    warning = " ".join(result.stderr.split())  # rich wraps stderr at the terminal's width
    assert "warning: replicas of gpu by version unknown: ListServices failed: AccessDenied: not allowed" in warning


def test_ecs_statistics_without_the_listener_are_a_warning(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "gpu", upload(registry, "gpu"), platform="ecs")
    went_live(registry, "iris", upload(registry, "iris"))
    _on_aws(cli)
    result = cli("get", "-o", "json")
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())  # rich wraps stderr at the terminal's width
    assert "warning: request statistics of ECS APIs unavailable: platform.ecs_not_configured: " in warning
    assert cli.stats.asked == [["iris"]]  # never asked as if gpu were a SageMaker endpoint


# ---- get --watch ----------------------------------------------------------------------------------------------


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_watch_renders_again_every_interval_until_ctrl_c(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris", b"one"))
    seq = upload(registry, "iris", b"two")
    started = cli.script.now
    cli.script.steps = [
        lambda: registry.set_status("iris", seq, VersionStatus.SHIFTING, "25% on v2", traffic_percent=25),
        _interrupt,
    ]
    result = cli("get", "--watch", "--interval", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("every 5 s: axon get") == 2
    assert "v1:100%" in result.stdout and "v2:25% v1:75%" in result.stdout
    assert cli.script.now == started + 10  # two sleeps of the interval


def test_watch_json_prints_one_document_per_line(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris"))
    cli.script.steps = [lambda: None, _interrupt]
    result = cli("get", "iris", "-w", "-o", "json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["name"] == "iris" for line in lines)


def test_without_watch_get_never_sleeps(cli: Cli, registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris"))
    assert cli("get").exit_code == 0 and cli.script.slept == 0


# ---- logs -----------------------------------------------------------------------------------------------------


def _log_to(cli: Cli, family: str, group: str) -> None:
    """A new revision of ``family`` logging to ``group``, with one event of its replica there."""
    ecs = client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    container = definition["containerDefinitions"][0]
    container["logConfiguration"]["options"]["awslogs-group"] = group
    ecs.register_task_definition(family=family, containerDefinitions=[container])
    now = float(int(datetime.now(UTC).timestamp()))
    cli.now = now
    logs = client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="v1/serving/abc")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="v1/serving/abc",
        logEvents=[{"timestamp": int((now - 5) * 1000), "message": "model loaded"}],
    )
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=names.log_group("gpu"))  # the SageMaker endpoint's group: empty


def test_logs_of_an_ecs_api_read_its_task_definitions_log_group(cli: Cli, gpu: Ecs) -> None:
    _log_to(cli, "axon-gpu-v1", "/axon/ecs/gpu")
    result = cli("logs", "gpu")
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[-1] == "loaded" and "v1/serving/abc" in result.stdout


def test_logs_of_a_first_ecs_rollout_follow_the_rolling_versions_spec(
    cli: Cli, aws: None, registry: DynamoDBRegistry, alb: Alb
) -> None:
    ecs = _ecs(alb.url)
    seq = upload(registry, "gpu")
    registry.record_validation("gpu", seq, spec=SPEC, spec_digest="d", image_key="k", model_data_uri="s3://b/k")
    assert registry.acquire_lease("gpu", "rollout-1", seq, lease_seconds=600)
    ecs.start("gpu", f"v{seq}")
    _log_to(cli, f"axon-gpu-v{seq}", "/axon/ecs/gpu-first")
    result = cli("logs", "gpu")
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[-1] == "loaded"


def test_logs_of_an_ecs_api_whose_task_definition_is_gone_use_the_default_group(
    cli: Cli, registry: DynamoDBRegistry
) -> None:
    went_live(registry, "gpu", upload(registry, "gpu"), platform="ecs")
    line = one_error_line(cli("logs", "gpu"))
    assert f"log group {names.log_group('gpu')} does not exist" in line
