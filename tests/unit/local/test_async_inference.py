"""The local InvokeEndpointAsync: the wire shape from botocore's model, and the queue's rules (bounded, per-instance
concurrency, waiting for capacity, failures to the failure path and the error topic), on fakes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from axon_local.dataplane.async_protocol import AsyncRequestError, locations, notification, operation_model, parse
from axon_local.dataplane.async_queue import AsyncEndpoint, AsyncInvocations, EndpointMissingError
from axon_local.dataplane.runtime import InvokeRequest, InvokeResponse

OUTPUT = {
    "S3OutputPath": "s3://axon-models/results/echo/",
    "S3FailurePath": "s3://axon-models/results/echo/failures/",
    "NotificationConfig": {
        "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:axon-echo-async-success",
        "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:axon-echo-async-error",
    },
}
CONFIG = {"OutputConfig": OUTPUT, "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2}}
INPUT = {"x-amzn-sagemaker-inputlocation": "s3://axon-models/inputs/echo/1", "x-amzn-sagemaker-content-type": "a/b"}


def test_the_header_names_are_botocores() -> None:
    """The REST binding the front door reads, as botocore's model declares it (a changed model fails here)."""
    model = operation_model()
    assert (model.http["method"], model.http["requestUri"]) == ("POST", "/endpoints/{EndpointName}/async-invocations")
    headers = {m.serialization.get("name") for m in model.input_shape.members.values()}
    assert {"X-Amzn-SageMaker-InputLocation", "X-Amzn-SageMaker-Inference-Id", "X-Amzn-SageMaker-Filename"} <= headers
    out = {k: v.serialization.get("name") for k, v in model.output_shape.members.items()}
    assert out == {
        "InferenceId": None,  # the JSON body
        "OutputLocation": "X-Amzn-SageMaker-OutputLocation",
        "FailureLocation": "X-Amzn-SageMaker-FailureLocation",
    }


def test_a_request_is_parsed_with_its_locations() -> None:
    headers = {**INPUT, "x-amzn-sagemaker-inference-id": "abc", "x-amzn-sagemaker-requestttlseconds": "120"}
    request = parse("axon-echo", headers, b"", OUTPUT)
    assert (request.inference_id, request.content_type, request.ttl_seconds) == ("abc", "a/b", 120)
    assert request.output_location == "s3://axon-models/results/echo/abc.out"
    assert request.failure_location == "s3://axon-models/results/echo/failures/abc-error.out"
    named = {"Filename": "f.out", "S3OutputPathExtension": "day1"}
    assert locations(OUTPUT, named, "abc") == (
        "s3://axon-models/results/echo/day1/f.out",
        "s3://axon-models/results/echo/failures/day1/abc-error.out",
    )
    generated = parse("axon-echo", INPUT, b"", OUTPUT)
    assert len(generated.inference_id) == 36  # a UUID when none is given


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"x-amzn-sagemaker-inference-id": "x" * 65}, "inferenceId"),
        ({"x-amzn-sagemaker-inputlocation": "ftp://b/k"}, "inputLocation"),
        ({**INPUT, "x-amzn-sagemaker-requestttlseconds": "30"}, "valid min value: 60"),
        ({**INPUT, "x-amzn-sagemaker-requestttlseconds": "soon"}, "must be an integer"),
        ({**INPUT, "x-amzn-sagemaker-filename": "a.b.out"}, "filename"),
        ({}, "InputLocation is required"),
    ],
)
def test_what_the_service_refuses_is_refused(headers: dict[str, str], problem: str) -> None:
    with pytest.raises(AsyncRequestError, match=problem) as caught:
        parse("axon-echo", headers, b"", OUTPUT)
    assert (caught.value.code, caught.value.status) == ("ValidationError", 400)


def test_notifications_have_sagemakers_fields() -> None:
    request = parse("axon-echo", {**INPUT, "x-amzn-sagemaker-inference-id": "abc"}, b"", OUTPUT)
    ok = notification(request, "us-east-1", content_type="application/json")
    assert set(ok) == {
        "awsRegion", "eventTime", "receivedTime", "invocationStatus", "requestParameters", "responseParameters",
        "inferenceId", "eventVersion", "eventSource", "eventName",
    }  # fmt: skip
    assert (ok["invocationStatus"], ok["eventSource"], ok["eventName"]) == (
        "Completed",
        "aws:sagemaker",
        "InferenceResult",
    )
    assert ok["responseParameters"] == {"contentType": "application/json", "outputLocation": request.output_location}
    assert ok["eventTime"].endswith("Z") and len(ok["eventTime"]) == len("2022-01-25T22:46:00.608Z")
    failed = notification(request, "us-east-1", failure_reason="ModelError: boom")
    assert (failed["invocationStatus"], failed["failureReason"]) == ("Failed", "ModelError: boom")
    assert failed["responseParameters"] == {"failureLocation": request.failure_location}


# ---- the queue, on fakes -----------------------------------------------------------------------------------


class FakeRuntime:
    """Answers like RuntimeService: 503 while there is no capacity, the model's answer or ModelError after."""

    def __init__(self, capacity_after: int = 0) -> None:
        self.calls: list[InvokeRequest] = []
        self.unavailable = capacity_after
        self.running = 0
        self.peak = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        self.calls.append(request)
        if self.unavailable > 0:
            self.unavailable -= 1
            return InvokeResponse(503, {"x-amzn-ErrorType": "ServiceUnavailable"}, b'{"message": "no instance"}')
        self.running += 1
        self.peak = max(self.peak, self.running)
        await self.gate.wait()
        self.running -= 1
        if b"fail" in request.body:
            return InvokeResponse(424, {"x-amzn-ErrorType": "ModelError"}, b'{"message": "asked to fail"}')
        return InvokeResponse(200, {"Content-Type": "application/json"}, b'{"ok": true}')


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {("axon-models", "inputs/echo/1"): b"{}"}
        self.sizes: dict[tuple[str, str], int] = {}  # what HeadObject says, where it is not the stored bytes
        self.reads: list[tuple[str, str]] = []

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"ContentLength": self.sizes.get((Bucket, Key), len(self.objects[(Bucket, Key)]))}

    def get_object(self, Bucket: str, Key: str, Range: str = "") -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.reads.append((Bucket, Key))
        if (Bucket, Key) not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject")

        class Body:
            def read(inner) -> bytes:
                return self.objects[(Bucket, Key)]

        return {"Body": Body()}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[(Bucket, Key)] = Body


class FakeSns:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, TopicArn: str, Message: str) -> None:
        self.published.append((TopicArn.rsplit("-", 1)[-1], json.loads(Message)))


def _describe(instances: int = 1, config: dict[str, Any] | None = CONFIG) -> Any:
    def describe(endpoint: str) -> AsyncEndpoint:
        if endpoint != "axon-echo":
            raise EndpointMissingError(endpoint)
        return AsyncEndpoint(config, instances)

    return describe


def _queue(runtime: FakeRuntime, *, instances: int = 1, limit: int = 10, config: Any = CONFIG) -> Any:
    s3, sns = FakeS3(), FakeSns()
    queue = AsyncInvocations(runtime, _describe(instances, config), s3, sns, queue_limit=limit)  # type: ignore[arg-type]
    return queue, s3, sns


async def _settle(sns: FakeSns, count: int) -> None:
    for _ in range(400):
        if len(sns.published) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(sns.published)} notifications, expected {count}")


def test_answers_and_failures_reach_s3_and_their_topics() -> None:
    asyncio.run(_test_answers_and_failures_reach_s3_and_their_topics())


async def _test_answers_and_failures_reach_s3_and_their_topics() -> None:
    queue, s3, sns = _queue(FakeRuntime())
    status, headers, body = await queue.submit("axon-echo", {**INPUT, "x-amzn-sagemaker-inference-id": "ok"}, b"")
    assert (status, json.loads(body)) == (202, {"InferenceId": "ok"})
    assert headers["X-Amzn-SageMaker-OutputLocation"] == "s3://axon-models/results/echo/ok.out"
    await queue.submit("axon-echo", {"x-amzn-sagemaker-inference-id": "bad"}, b'{"fail": 1}')  # an inline body
    await _settle(sns, 2)
    assert s3.objects[("axon-models", "results/echo/ok.out")] == b'{"ok": true}'
    assert s3.objects[("axon-models", "results/echo/failures/bad-error.out")] == b'{"message": "asked to fail"}'
    by_topic = {topic: message for topic, message in sns.published}
    assert by_topic["success"]["inferenceId"] == "ok" and by_topic["error"]["inferenceId"] == "bad"
    assert by_topic["error"]["failureReason"] == "ModelError: asked to fail"
    await queue.aclose()


def test_an_unreadable_input_fails_without_calling_the_model() -> None:
    asyncio.run(_test_an_unreadable_input_fails_without_calling_the_model())


async def _test_an_unreadable_input_fails_without_calling_the_model() -> None:
    runtime = FakeRuntime()
    queue, _, sns = _queue(runtime)
    missing = {
        "x-amzn-sagemaker-inputlocation": "s3://axon-models/inputs/echo/none",
        "x-amzn-sagemaker-inference-id": "m",
    }
    assert (await queue.submit("axon-echo", missing, b""))[0] == 202
    await _settle(sns, 1)
    assert runtime.calls == [] and sns.published[0][0] == "error"
    assert "Failed to download the input" in sns.published[0][1]["failureReason"]
    await queue.aclose()


def test_an_input_larger_than_sagemaker_takes_is_failed_unread() -> None:
    asyncio.run(_test_an_input_larger_than_sagemaker_takes_is_failed_unread())


async def _test_an_input_larger_than_sagemaker_takes_is_failed_unread() -> None:
    runtime = FakeRuntime()
    queue, s3, sns = _queue(runtime)
    s3.objects[("axon-models", "inputs/echo/huge")] = b"{}"
    s3.sizes[("axon-models", "inputs/echo/huge")] = 1024**3 + 1  # 1 GB and a byte
    huge = {"x-amzn-sagemaker-inputlocation": "s3://axon-models/inputs/echo/huge", "x-amzn-sagemaker-inference-id": "h"}
    assert (await queue.submit("axon-echo", huge, b""))[0] == 202
    await _settle(sns, 1)
    assert runtime.calls == [] and s3.reads == [] and sns.published[0][0] == "error"
    assert "the limit is 1073741824" in sns.published[0][1]["failureReason"]
    await queue.aclose()


def test_unknown_realtime_and_full_are_refused_at_once() -> None:
    asyncio.run(_test_unknown_realtime_and_full_are_refused_at_once())


async def _test_unknown_realtime_and_full_are_refused_at_once() -> None:
    runtime = FakeRuntime()
    runtime.gate.clear()  # the model never finishes: the queue fills up
    queue, _, _ = _queue(runtime, limit=2)
    assert (await queue.submit("axon-other", INPUT, b""))[0] == 400
    realtime, _, _ = _queue(FakeRuntime(), config=None)
    status, headers, _ = await realtime.submit("axon-echo", INPUT, b"")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationError")
    no_output, _, _ = _queue(FakeRuntime(), config={"OutputConfig": {}})  # S3OutputPath is optional in the model
    assert (await no_output.submit("axon-echo", INPUT, b""))[0] == 400
    answers = []
    for _ in range(6):
        answers.append((await queue.submit("axon-echo", INPUT, b""))[0])
        await asyncio.sleep(0.05)  # the dispatcher hands what it may to the model
    # 2 with the model (1 instance x 2), 1 held by the dispatcher until one finishes, 2 queued: the 6th is refused.
    assert answers == [202] * 5 + [503]
    assert runtime.peak == 2  # never more than MaxConcurrentInvocationsPerInstance x instances
    for each in (queue, realtime, no_output):
        await each.aclose()


def test_a_request_waits_for_capacity_then_is_answered() -> None:
    asyncio.run(_test_a_request_waits_for_capacity_then_is_answered())


async def _test_a_request_waits_for_capacity_then_is_answered() -> None:
    runtime = FakeRuntime(capacity_after=3)  # three tries find no instance (scaled to zero, starting)
    queue, s3, sns = _queue(runtime)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("axon_local.dataplane.async_queue._NO_CAPACITY_RETRY_SECONDS", 0.01)
        await queue.submit("axon-echo", {**INPUT, "x-amzn-sagemaker-inference-id": "w"}, b"")
        await _settle(sns, 1)
    assert len(runtime.calls) == 4 and sns.published[0][0] == "success"
    assert ("axon-models", "results/echo/w.out") in s3.objects
    await queue.aclose()


def test_the_model_gets_the_requests_invocation_timeout_and_the_async_size_bound() -> None:
    asyncio.run(_test_the_model_gets_the_requests_invocation_timeout_and_the_async_size_bound())


async def _test_the_model_gets_the_requests_invocation_timeout_and_the_async_size_bound() -> None:
    runtime = FakeRuntime()
    queue, _, sns = _queue(runtime)
    await queue.submit("axon-echo", {**INPUT, "x-amzn-sagemaker-invocationtimeoutseconds": "5"}, b"")
    await queue.submit("axon-echo", INPUT, b"")
    await _settle(sns, 2)
    assert sorted(call.timeout_seconds for call in runtime.calls) == [5, 900]  # botocore's documented default
    assert {call.max_body_bytes for call in runtime.calls} == {1024**3}  # SageMaker async's 1 GB, not 6 MB
    await queue.aclose()
