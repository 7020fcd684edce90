"""The whole control plane on moto, in-process: real ASL, real handlers, the documented patches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon.deps import default_deps
from axon.registry import DynamoDBRegistry, VersionRecord
from axon.rollout.prepare import Flavour, image_key
from axon.settings import Settings, get_settings
from axon_local.patches import moto_patches
from axon_local.provision import Provisioned, provision
from tests.unit.bundle.builder import BundleBuilder

PREDICTOR = """
class Predictor:
    def __init__(self, config, model_dir):
        self.config = config

    def predict(self, payload):
        return {"echo": payload}
"""


def bundle(spec: str = "", predictor: str = PREDICTOR, requirements: str | None = None, **files: str) -> bytes:
    builder = BundleBuilder().file("predictor.py", predictor)
    if spec:
        builder.file("axon.yaml", spec)
    if requirements is not None:
        builder.file("requirements.txt", requirements)
    for name, text in files.items():
        builder.file(name.replace("__", "/"), text)
    return builder.build()


_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """One client per service per test: creating clients reads os.environ, which in-process Lambda invocations
    change on other threads (the harness's documented process-wide environment), so the test thread creates few."""
    if service not in _clients:
        _clients[service] = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
    return _clients[service]


@dataclass
class Stack:
    provisioned: Provisioned

    @property
    def settings(self) -> Settings:
        return self.provisioned.settings

    @property
    def registry(self) -> DynamoDBRegistry:
        return DynamoDBRegistry(self.settings.registry_table, client("dynamodb"))  # the cached client

    def upload(self, api: str, data: bytes, filename: str = "bundle.tar.gz") -> str:
        """Put a bundle as a user would; the S3 event starts everything else. Returns the S3 VersionId."""
        response = client("s3").put_object(Bucket=self.settings.models_bucket, Key=f"apis/{api}/{filename}", Body=data)
        return str(response["VersionId"])

    def version(self, api: str, version_id: str) -> VersionRecord:
        found = self.registry.find_version(api, version_id)
        assert found is not None, f"no version {version_id} of {api} in the registry"
        return found

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        if not poll(check, timeout):
            raise AssertionError(f"timed out waiting for {what}")

    def wait_final(self, api: str, version_id: str, timeout: float = 60.0) -> VersionRecord:
        """Wait until the version is final and its execution has ended (the lease handed on)."""

        def done() -> bool:
            record = self.registry.find_version(api, version_id)
            return record is not None and record.status.is_final and not self.running_executions()

        self.wait_until(done, f"{api} {version_id} to finish", timeout)
        return self.version(api, version_id)

    def running_executions(self) -> list[str]:
        listed = client("stepfunctions").list_executions(
            stateMachineArn=self.provisioned.state_machine_arn, statusFilter="RUNNING"
        )
        return [e["name"] for e in listed["executions"]]

    def executions(self) -> list[dict[str, Any]]:
        listed = client("stepfunctions").list_executions(stateMachineArn=self.provisioned.state_machine_arn)
        return list(listed["executions"])

    def endpoint(self, api: str) -> dict[str, Any]:
        """DescribeEndpoint once the endpoint settles (the local SageMaker runs its operations on a thread)."""
        self.wait_until(lambda: self.endpoint_status(api) not in ("Creating", "Updating"), "the endpoint to settle")
        return dict(client("sagemaker").describe_endpoint(EndpointName=names.endpoint_name(api)))

    def endpoint_status(self, api: str) -> str:
        return str(client("sagemaker").describe_endpoint(EndpointName=names.endpoint_name(api))["EndpointStatus"])

    def sagemaker_resources(self) -> tuple[list[str], list[str], list[str]]:
        sagemaker = client("sagemaker")
        return (
            sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]),
            sorted(c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]),
            sorted(m["ModelName"] for m in sagemaker.list_models()["Models"]),
        )

    def push_image(self, requirements: str = "", flavour: Flavour = "cpu") -> str:
        """Put the serving image a bundle with these requirements needs into ECR, as an earlier build would."""
        tag = names.image_tag(image_key(flavour, requirements))
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
        client("ecr").put_image(
            repositoryName=self.settings.ecr_repository, imageManifest=json.dumps(manifest), imageTag=tag
        )
        return tag

    def builds(self) -> list[str]:
        return list(client("codebuild").list_builds_for_project(projectName=self.settings.codebuild_project)["ids"])

    def timeline(self, api: str, version_id: str) -> list[str]:
        return [e.message for e in self.registry.timeline(api, self.version(api, version_id).seq)]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Axon",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), moto_patches():
        _clients.clear()
        get_settings.cache_clear()
        default_deps.cache_clear()
        yield Stack(provision(client))
        get_settings.cache_clear()
        default_deps.cache_clear()
        _clients.clear()


def poll(check: Callable[[], bool], timeout: float) -> bool:
    """Poll ``check`` until it holds or ``timeout`` passes. moto's in-process backends are not thread-safe: a read
    that races a handler's write on another thread can raise ``RuntimeError`` (a dict changed size during
    iteration), the harness's own race, not the control plane's (DynamoDB reads are consistent snapshots); that poll
    is simply repeated."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except RuntimeError as exc:
            if "changed size during iteration" not in str(exc):
                raise
        time.sleep(0.05)
    return False


def put_in_flight(
    api: str, value: float, points: int = 5, variant: str = names.VARIANT_NAME, *, signal_key: str | None = None
) -> None:
    """What the serving runtime publishes: ``InFlight`` in ``Axon/Api/<api>`` every 10 s for the last minute,
    under the API's signal key from the registry (or ``signal_key``: what a forger would have to guess)."""
    if signal_key is None:
        record = DynamoDBRegistry(get_settings().registry_table, client("dynamodb")).get_api(api)
        assert record is not None, f"{api} is not in the registry"
        signal_key = record.signal_key
    now = datetime.now(UTC)
    client("cloudwatch").put_metric_data(
        Namespace=names.api_metric_namespace(api),
        MetricData=[
            {
                "MetricName": names.IN_FLIGHT_METRIC,
                "Dimensions": names.in_flight_dimensions(api, variant, signal_key),
                "Timestamp": now - timedelta(seconds=names.IN_FLIGHT_PERIOD_SECONDS * i),
                "Value": value,
                "StorageResolution": 1,
            }
            for i in range(1, points + 1)
        ],
    )


def decoded(body: Any) -> Any:
    return json.loads(body.read())
