from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from axon_local.dataplane import FleetTimeouts
from axon_local.frontdoor import FrontDoor, FrontDoorOptions, serve

FAKE_SERVER = Path(__file__).with_name("fake_model_server.py")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-local"
BUCKET = "axon-models"


def fake_command(python: Path, model_dir: Path, port: int) -> list[str]:
    return [str(python), str(FAKE_SERVER), "--model-dir", str(model_dir), "--host", "127.0.0.1", "--port", str(port)]


def bundle(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Stack:
    door: FrontDoor
    sm: Any
    runtime: Any
    s3: Any
    cloudwatch: Any

    def upload(self, key: str, files: dict[str, str]) -> str:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=bundle(files))
        return f"s3://{BUCKET}/{key}"

    def version(
        self,
        label: str,
        behaviour: dict[str, Any] | None = None,
        count: int = 1,
        variants: tuple[str, ...] = ("AllTraffic",),
    ) -> str:
        """Model + endpoint config for a version of the fake server; returns the config name."""
        url = self.upload(
            f"apis/demo/{label}.tar.gz", {"behaviour.json": json.dumps({"version": label, **(behaviour or {})})}
        )
        self.sm.create_model(
            ModelName=f"m-{label}",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url},
        )
        self.sm.create_endpoint_config(
            EndpointConfigName=f"c-{label}",
            ProductionVariants=[
                {
                    "VariantName": v,
                    "ModelName": f"m-{label}",
                    "InitialInstanceCount": count,
                    "InstanceType": "ml.m5.large",
                }
                for v in variants
            ],
        )
        return f"c-{label}"

    def wait_status(self, endpoint: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the endpoint leaves its transient states; return DescribeEndpoint."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.sm.describe_endpoint(EndpointName=endpoint)
            if body["EndpointStatus"] not in {"Creating", "Updating", "RollingBack", "Deleting"}:
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)

    def predict(self, endpoint: str, payload: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], str]:
        answer = self.runtime.invoke_endpoint(
            EndpointName=endpoint, Body=json.dumps(payload), ContentType="application/json", **extra
        )
        return json.loads(answer["Body"].read()), answer["InvokedProductionVariant"]


def _client(service: str, url: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def make_stack(cache: Path, command: Callable[[Path, Path, int], list[str]] = fake_command, **options: Any) -> Stack:
    door = serve(
        0,
        FrontDoorOptions(
            cache_dir=cache,
            serve_command=command,
            timeouts=FleetTimeouts(ping_seconds=15, drain_seconds=10, stop_grace_seconds=5),
            **options,
        ),
    )
    stack = Stack(
        door,
        _client("sagemaker", door.url),
        _client("sagemaker-runtime", door.url),
        _client("s3", door.url),
        _client("cloudwatch", door.url),
    )
    stack.s3.create_bucket(Bucket=BUCKET)
    return stack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    stack = make_stack(tmp_path, time_scale=20.0)
    try:
        yield stack
    finally:
        stack.door.close()
