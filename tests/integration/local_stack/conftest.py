"""A real local stack, started once for the module: the same code `axon local up` runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.harness import LocalClients, running_stack

SERVICES = ("s3", "dynamodb", "sagemaker", "sagemaker-runtime", "events", "stepfunctions")


class Local(LocalClients):
    def predict(self, api: str, payload: Any) -> Any:
        runtime = self.client("sagemaker-runtime")
        body = runtime.invoke_endpoint(
            EndpointName=f"axon-{api}", Body=json.dumps(payload), ContentType="application/json"
        )
        return json.loads(body["Body"].read())

    def replicas(self, api: str) -> int:
        endpoint = self.client("sagemaker").describe_endpoint(EndpointName=f"axon-{api}")
        return int(endpoint["ProductionVariants"][0].get("CurrentInstanceCount") or 0)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    with running_stack(Local, tmp_path_factory.mktemp("axon-cache"), SERVICES) as local:
        yield local
