from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from axon_local.sagemaker import ManualClock, SageMakerEmulator, SageMakerProtocol
from tests.unit.local.fakes import FakeAlarms, FakeFleet

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-abc"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Local:
    clock: ManualClock
    fleet: FakeFleet
    alarms: FakeAlarms
    emulator: SageMakerEmulator
    protocol: SageMakerProtocol

    def api(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request through the wire protocol, as a client sends it."""
        response = self.protocol.handle(f"SageMaker.{operation}", json.dumps(params).encode())
        body = json.loads(response.body)
        if response.status != 200:
            raise ApiError(response.status, body["__type"], body["message"])
        return body  # type: ignore[no-any-return]

    def model(self, name: str, url: str = "s3://axon-models/apis/iris/v1.tar.gz") -> None:
        self.api(
            "CreateModel",
            ModelName=name,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url, "Environment": {"K": "V"}},
        )

    def config(self, name: str, model: str, count: int = 1, variant: str = "AllTraffic") -> None:
        self.api(
            "CreateEndpointConfig",
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": variant,
                    "ModelName": model,
                    "InitialInstanceCount": count,
                    "InstanceType": "ml.m5.large",
                    "InitialVariantWeight": 1.0,
                }
            ],
        )

    def endpoint(self, name: str = "axon-iris", config: str = "cfg-v1", count: int = 1) -> None:
        self.model(f"model-{config}")
        self.config(config, f"model-{config}", count)
        self.api("CreateEndpoint", EndpointName=name, EndpointConfigName=config)

    def describe(self, name: str = "axon-iris") -> dict[str, Any]:
        return self.api("DescribeEndpoint", EndpointName=name)


def make_local(background: bool = False) -> Local:
    clock = ManualClock()
    fleet, alarms = FakeFleet(clock), FakeAlarms(clock)
    emulator = SageMakerEmulator(fleet, alarms, clock, poll_seconds=5.0, background=background)
    return Local(clock, fleet, alarms, emulator, SageMakerProtocol(emulator))


@pytest.fixture
def local() -> Local:
    return make_local()
