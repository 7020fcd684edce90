from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from axon_local.patches import moto_patches
from tests.functional.harness import handlers

REGION = "us-east-1"
HANDLERS = "tests.functional.harness.handlers"
SFN_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}
# One session for every test: its loaded service models are reused, which saves most of a client's cost.
_SESSION = boto3.session.Session()


def client(service: str, endpoint_url: str | None = None) -> Any:
    return _SESSION.client(service, region_name=REGION, endpoint_url=endpoint_url)  # type: ignore[call-overload]


@pytest.fixture(autouse=True)
def _fresh_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    handlers.received.clear()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process with the Step Functions interpreter on and the patches installed."""
    with mock_aws(config=SFN_CONFIG), moto_patches():
        yield


def any_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    return buffer.getvalue()


def create_role(iam: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(iam.create_role(RoleName="harness", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def create_function(
    lambda_client: Any, role_arn: str, name: str, handler: str, environment: dict[str, str] | None = None
) -> str:
    response = lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler=f"{HANDLERS}.{handler}",
        Code={"ZipFile": any_zip()},
        MemorySize=256,
        Timeout=30,
        Environment={"Variables": environment or {}},
    )
    return str(response["FunctionArn"])


@pytest.fixture
def role_arn(aws: None) -> str:
    return create_role(client("iam"))


@pytest.fixture
def lambda_client(aws: None) -> Any:
    return client("lambda")
