"""InvokeEndpoint on an async endpoint: SageMaker refuses it (400 ``ValidationError``), so the local stack must too,
or ``axon predict`` on an async API would work locally and fail on AWS. boto3's real sagemaker-runtime client
against the local front door, fake model servers behind it; the queue's own dispatch must keep working."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from tests.integration.local_sagemaker.conftest import BUCKET, Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ASYNC_ENDPOINT = "axon-queued"
REALTIME_ENDPOINT = "axon-demo"


def _async_config(stack: Stack) -> None:
    """An endpoint config like the SageMaker platform's for ``kind: async`` (no topics: none are needed here)."""
    realtime = stack.version("q1")
    variants = stack.sm.describe_endpoint_config(EndpointConfigName=realtime)["ProductionVariants"]
    stack.sm.create_endpoint_config(
        EndpointConfigName="c-queued",
        ProductionVariants=[
            {k: v[k] for k in ("VariantName", "ModelName", "InitialInstanceCount", "InstanceType")} for v in variants
        ],
        AsyncInferenceConfig={
            "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/results/queued/"},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        },
    )


def _refused(call: Callable[[], object]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_invoke_endpoint_on_an_async_endpoint_is_refused_as_sagemaker_does(stack: Stack) -> None:
    _async_config(stack)
    stack.sm.create_endpoint(EndpointName=ASYNC_ENDPOINT, EndpointConfigName="c-queued")
    stack.sm.create_endpoint(EndpointName=REALTIME_ENDPOINT, EndpointConfigName=stack.version("v1"))
    assert stack.wait_status(ASYNC_ENDPOINT)["EndpointStatus"] == "InService"
    assert stack.wait_status(REALTIME_ENDPOINT)["EndpointStatus"] == "InService"
    body = json.dumps({"x": 1})

    for error in (
        _refused(lambda: stack.runtime.invoke_endpoint(EndpointName=ASYNC_ENDPOINT, Body=body)),
        _refused(lambda: stack.runtime.invoke_endpoint_with_response_stream(EndpointName=ASYNC_ENDPOINT, Body=body)),
    ):
        assert error.response["Error"]["Code"] == "ValidationError"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "asynchronous inference" in error.response["Error"]["Message"]
        assert "InvokeEndpointAsync" in error.response["Error"]["Message"]

    # Real-time endpoints still answer, both ways.
    answer, variant = stack.predict(REALTIME_ENDPOINT, {"x": 2})
    assert (answer["version"], answer["payload"], variant) == ("v1", {"x": 2}, "AllTraffic")
    streamed = stack.runtime.invoke_endpoint_with_response_stream(EndpointName=REALTIME_ENDPOINT, Body=body)
    parts = b"".join(event["PayloadPart"]["Bytes"] for event in streamed["Body"] if "PayloadPart" in event)
    assert json.loads(parts)["version"] == "v1"

    # The async path still reaches the same replicas through the queue, end to end.
    stack.s3.put_object(Bucket=BUCKET, Key="inputs/queued/1.json", Body=b'{"x": 3}')
    queued = stack.runtime.invoke_endpoint_async(
        EndpointName=ASYNC_ENDPOINT,
        InputLocation=f"s3://{BUCKET}/inputs/queued/1.json",
        ContentType="application/json",
        InferenceId="req-1",
    )
    assert queued["OutputLocation"] == f"s3://{BUCKET}/results/queued/req-1.out"
    deadline = time.monotonic() + 20
    while True:
        try:
            result = stack.s3.get_object(Bucket=BUCKET, Key="results/queued/req-1.out")["Body"].read()
            break
        except ClientError:
            assert time.monotonic() < deadline, "the async request was never answered"
            time.sleep(0.1)
    assert (json.loads(result)["version"], json.loads(result)["payload"]) == ("q1", {"x": 3})


def test_an_async_endpoint_deleted_and_recreated_real_time_answers_again(stack: Stack) -> None:
    """The kind follows the route: an endpoint name reused for a real-time config is served again."""
    _async_config(stack)
    stack.sm.create_endpoint(EndpointName=ASYNC_ENDPOINT, EndpointConfigName="c-queued")
    stack.wait_status(ASYNC_ENDPOINT)
    refused = _refused(lambda: stack.runtime.invoke_endpoint(EndpointName=ASYNC_ENDPOINT, Body=b"{}"))
    assert refused.response["Error"]["Code"] == "ValidationError"
    stack.sm.delete_endpoint(EndpointName=ASYNC_ENDPOINT)
    deadline = time.monotonic() + 20
    while stack.sm.list_endpoints(NameContains=ASYNC_ENDPOINT)["Endpoints"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stack.sm.create_endpoint(EndpointName=ASYNC_ENDPOINT, EndpointConfigName=stack.version("v2"))
    stack.wait_status(ASYNC_ENDPOINT)
    assert stack.predict(ASYNC_ENDPOINT, {})[0]["version"] == "v2"
