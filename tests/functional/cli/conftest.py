"""A moto account with axon's bucket, table and state machine, and a CLI context whose sleep runs a script.

Commands that poll call ``ctx.sleep``; here each call runs the next step of a :class:`Script` (the intake
registering the upload, a status change, ...) and advances a fake clock, so follow mode is deterministic.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner, Result

from axon.cli.app import app
from axon.cli.context import CliContext
from axon.cli.options import Target
from axon.cli.stats import AlbTargets, ApiStats
from axon.registry import DynamoDBRegistry
from axon_local.provision import create_registry_table

BUCKET = "axon-models"
TABLE = "axon-registry"
LOCAL_URL = "http://127.0.0.1:4566"
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@cache
def client(service: str) -> Any:
    """Clients are shared across tests (creating an S3 client costs ~0.2 s); moto intercepts whichever is active."""
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")  # type: ignore[call-overload]


@dataclass
class Script:
    """Steps run one per ``sleep`` call; sleeping past the last step fails the test (a follow that never ends)."""

    steps: list[Callable[[], None]] = field(default_factory=list)
    now: float = 1_000.0
    slept: int = 0

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.slept >= len(self.steps):
            raise AssertionError(f"slept {self.slept + 1} times, the script has {len(self.steps)} steps")
        step = self.steps[self.slept]
        self.slept += 1
        step()

    def clock(self) -> float:
        return self.now


class FixedStats:
    def __init__(self, stats: dict[str, ApiStats]) -> None:
        self.stats = stats
        self.asked: list[list[str]] = []
        self.ecs: list[dict[str, AlbTargets]] = []  # the ECS APIs' target groups of each call

    def fetch(self, apis: Any, ecs: dict[str, AlbTargets] | None = None) -> dict[str, ApiStats]:
        self.asked.append(list(apis))
        self.ecs.append(dict(ecs or {}))
        return {api: s for api, s in self.stats.items() if api in apis}


@dataclass
class Cli:
    """Run ``axon`` in-process against the moto account."""

    script: Script
    stats: FixedStats
    endpoint_url: str | None = LOCAL_URL  # --endpoint-url: the local stack
    now: float = 1_700_000_000.0
    overrides: dict[str, Any] = field(default_factory=dict)  # service -> a fake client in place of moto's

    def client(self, service: str) -> Any:
        return self.overrides[service] if service in self.overrides else client(service)

    def context(self) -> CliContext:
        return CliContext(
            self.client,
            target=Target(endpoint_url=self.endpoint_url),
            env={},
            sleep=self.script.sleep,
            clock=self.script.clock,
            now=lambda: self.now,
            stats=self.stats,
        )

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), obj=self.context(), input=input)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AXON_DEBUG", raising=False)
    with mock_aws():
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        create_registry_table(client("dynamodb"), TABLE)
        client("stepfunctions").create_state_machine(
            name="axon-rollout", definition=PASS_MACHINE, roleArn="arn:aws:iam::123456789012:role/x"
        )
        yield


@pytest.fixture
def registry(aws: None) -> DynamoDBRegistry:
    return DynamoDBRegistry(TABLE, client("dynamodb"))


@pytest.fixture
def cli(aws: None) -> Cli:
    return Cli(Script(), FixedStats({}))


def one_error_line(result: Result) -> str:
    """The command failed with exactly one ``error:`` line on stderr and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]
