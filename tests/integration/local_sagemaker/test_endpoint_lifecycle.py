"""Real boto3 clients against the front door: create, predict, update, scale and delete with real processes."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.local_sagemaker.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _pids(stack: Stack) -> set[int]:
    return {
        r.process.pid
        for fleet in list(stack.door.fleet._router._fleets)
        for r in stack.door.fleet._router.replicas(fleet)
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_create_predict_and_delete_leaves_no_process(stack: Stack) -> None:
    stack.sm.create_endpoint(EndpointName="axon-demo", EndpointConfigName=stack.version("v1", count=2))
    assert stack.sm.describe_endpoint(EndpointName="axon-demo")["EndpointStatus"] == "Creating"
    body = stack.wait_status("axon-demo")
    assert body["EndpointStatus"] == "InService"
    assert body["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    answer, variant = stack.predict("axon-demo", {"x": 1})
    assert (answer["version"], answer["payload"], variant) == ("v1", {"x": 1}, "AllTraffic")
    assert (answer["api"], answer["variant"], answer["content_type"]) == ("demo", "AllTraffic", "application/json")
    pids = _pids(stack)
    assert len(pids) == 2
    stack.sm.delete_endpoint(EndpointName="axon-demo")
    stack.sm.get_waiter("endpoint_deleted").wait(
        EndpointName="axon-demo", WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )
    assert not any(_alive(p) for p in pids)


def test_invoke_errors_are_shaped_like_sagemaker_runtime(stack: Stack) -> None:
    stack.sm.create_endpoint(EndpointName="axon-demo", EndpointConfigName=stack.version("v1"))
    stack.wait_status("axon-demo")
    with pytest.raises(ClientError) as error:
        stack.predict("axon-demo", {"status": 400})
    response: dict[str, Any] = dict(error.value.response)
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400 and json.loads(response["OriginalMessage"])["version"] == "v1"
    assert "Received client error (400) from primary" in response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        stack.predict("axon-missing", {})
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert "Endpoint axon-missing of account" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="Target variant nope not found"):
        stack.predict("axon-demo", {}, TargetVariant="nope")
    [row] = stack.door.variant_stats("axon-demo")
    assert (row.requests, row.count_2xx, row.count_4xx, row.in_flight) == (1, 0, 1, 0)


def test_weights_target_variants_and_scaling(stack: Stack) -> None:
    config = stack.version("v1", variants=("a", "b"))
    stack.sm.create_endpoint(EndpointName="axon-demo", EndpointConfigName=config)
    stack.wait_status("axon-demo")
    stack.sm.update_endpoint_weights_and_capacities(
        EndpointName="axon-demo",
        DesiredWeightsAndCapacities=[
            {"VariantName": "a", "DesiredWeight": 0.0},
            {"VariantName": "b", "DesiredWeight": 1.0, "DesiredInstanceCount": 3},
        ],
    )
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        stack.sm.update_endpoint_weights_and_capacities(
            EndpointName="axon-demo", DesiredWeightsAndCapacities=[{"VariantName": "a", "DesiredWeight": 1.0}]
        )
    body = stack.wait_status("axon-demo")
    counts = {v["VariantName"]: (v["CurrentInstanceCount"], v["CurrentWeight"]) for v in body["ProductionVariants"]}
    assert counts == {"a": (1, 0.0), "b": (3, 1.0)}
    assert {stack.predict("axon-demo", {})[1] for _ in range(10)} == {"b"}
    assert stack.predict("axon-demo", {}, TargetVariant="a")[1] == "a"
    seen = Counter(stack.predict("axon-demo", {})[0]["pid"] for _ in range(12))
    assert sorted(seen.values()) == [4, 4, 4]  # idle replicas take turns
    stack.sm.update_endpoint_weights_and_capacities(
        EndpointName="axon-demo", DesiredWeightsAndCapacities=[{"VariantName": "b", "DesiredInstanceCount": 1}]
    )
    assert stack.wait_status("axon-demo")["ProductionVariants"][1]["CurrentInstanceCount"] == 1
    assert len(_pids(stack)) == 2
