"""The local stack's asynchronous inference: InvokeEndpointAsync queues a request per endpoint, a worker reads its
input from the local S3, a replica answers it through the same router (and retries) as InvokeEndpoint, and the
answer (or the failure) is written where ``AsyncInferenceConfig`` says, then announced on the endpoint's SNS topic.

Each endpoint has one bounded queue (``queue_limit``; a full queue answers ``ServiceUnavailable``) and at most
``MaxConcurrentInvocationsPerInstance`` x instances requests with its replicas at once. A request that finds no
replica (an endpoint being created, or scaled to zero) waits in the queue, as on SageMaker, until its
``RequestTTLSeconds`` pass; then it fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from axon import async_message, names
from axon_local.dataplane.async_protocol import (
    AsyncRequest,
    AsyncRequestError,
    accepted,
    notification,
    parse,
    split_s3_uri,
)
from axon_local.dataplane.runtime import InvokeRequest, InvokeResponse, RuntimeService

LOG = logging.getLogger(__name__)
DEFAULT_QUEUE_LIMIT = 1000
MAX_INPUT_BYTES = names.ASYNC_MAX_INPUT_BYTES
_NO_CAPACITY_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class AsyncEndpoint:
    """What the queue needs to know of an endpoint now: its ``AsyncInferenceConfig`` (``None``: real-time) and
    how many instances serve it."""

    config: dict[str, Any] | None
    instances: int


class EndpointMissingError(Exception):
    """No such endpoint (the local SageMaker says so)."""


Describe = Callable[[str], AsyncEndpoint]  # blocking: run on a thread


@dataclass
class _Lane:
    queue: asyncio.Queue[AsyncRequest]
    busy: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"message": message}).encode()


class AsyncInvocations:
    """Per-endpoint queues and their workers; create, use and close on the serving event loop."""

    def __init__(
        self,
        runtime: RuntimeService,
        describe: Describe,
        s3: Any,
        sns: Any,
        *,
        region: str = "us-east-1",
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
    ) -> None:
        self._runtime = runtime
        self._describe = describe
        self._s3 = s3
        self._sns = sns
        self._region = region
        self._limit = queue_limit
        self._lanes: dict[str, _Lane] = {}

    async def submit(self, endpoint: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """InvokeEndpointAsync: validate, queue, answer 202 (or the service's error) at once."""
        try:
            found = await asyncio.to_thread(self._describe, endpoint)
        except EndpointMissingError:
            return _error(400, "ValidationError", f"Endpoint {endpoint} of account 123456789012 not found.")
        if found.config is None or not (found.config.get("OutputConfig") or {}).get("S3OutputPath"):
            return _error(400, "ValidationError", f"Endpoint {endpoint} is not configured for asynchronous inference.")
        try:
            request = parse(endpoint, headers, body, found.config["OutputConfig"])
        except AsyncRequestError as error:
            return _error(error.status, error.code, error.message)
        lane = self._lane(endpoint)
        try:
            lane.queue.put_nowait(request)
        except asyncio.QueueFull:
            return _error(503, "ServiceUnavailable", f"The queue of endpoint {endpoint} is full ({self._limit}).")
        return accepted(request)

    def backlogs(self) -> dict[str, tuple[int, int]]:
        """Every endpoint that has a queue: its requests queued or being processed (SageMaker's
        ``ApproximateBacklogSize``) and its live instances. Blocking (it describes the endpoints): call it from a
        thread, as the metric publisher does; the counts are read without the event loop, a moment's snapshot."""
        found = {}
        for endpoint, lane in list(self._lanes.items()):
            try:
                instances = self._describe(endpoint).instances
            except EndpointMissingError:
                continue
            found[endpoint] = (lane.queue.qsize() + lane.busy, instances)
        return found

    def _lane(self, endpoint: str) -> _Lane:
        lane = self._lanes.get(endpoint)
        if lane is None:
            lane = self._lanes[endpoint] = _Lane(asyncio.Queue(self._limit))
            dispatcher = asyncio.ensure_future(self._dispatch(endpoint, lane))
            lane.tasks.add(dispatcher)
        return lane

    async def _dispatch(self, endpoint: str, lane: _Lane) -> None:
        """Hand queued requests to workers, no more at once than the endpoint's instances allow."""
        while True:
            request = await lane.queue.get()
            while lane.busy >= await self._concurrency(endpoint):
                await asyncio.sleep(0.05)
            lane.busy += 1
            task = asyncio.ensure_future(self._work(request, lane))
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)

    async def _concurrency(self, endpoint: str) -> int:
        try:
            found = await asyncio.to_thread(self._describe, endpoint)
        except EndpointMissingError:
            return 1  # its requests fail one by one below
        per_instance = int(
            ((found.config or {}).get("ClientConfig") or {}).get("MaxConcurrentInvocationsPerInstance", 1)
        )
        return per_instance * max(found.instances, 1)

    async def _work(self, request: AsyncRequest, lane: _Lane) -> None:
        try:
            await self._process(request)
        except Exception:  # a worker must never die silently: the request is failed instead
            LOG.exception("async inference %s on %s failed", request.inference_id, request.endpoint)
            await self._fail(request, "InternalFailure: the local stack could not process the request.")
        finally:
            lane.busy -= 1

    async def _process(self, request: AsyncRequest) -> None:
        try:
            body = await asyncio.to_thread(self._read_input, request)
        except (ClientError, AsyncRequestError) as error:
            await self._fail(
                request, f"ClientError: Failed to download the input from {request.input_location}: {error}"
            )
            return
        deadline = time.monotonic() + request.ttl_seconds
        while True:
            answer = await self._runtime.invoke(
                InvokeRequest(
                    endpoint=request.endpoint,
                    body=body,
                    content_type=request.content_type,
                    accept=request.accept,
                    custom_attributes=request.custom_attributes,
                    max_body_bytes=MAX_INPUT_BYTES,
                    timeout_seconds=request.invocation_timeout_seconds,
                )
            )
            if answer.status != 503 or time.monotonic() >= deadline:
                break
            await asyncio.sleep(_NO_CAPACITY_RETRY_SECONDS)  # no instance yet: the request stays queued
        if answer.status == 200:
            content_type = answer.headers.get("Content-Type")
            await asyncio.to_thread(self._write, request.output_location, answer.body, content_type)
            await self._notify(request, "SuccessTopic", notification(request, self._region, content_type=content_type))
            return
        await self._fail(request, _failure_reason(answer), answer.body)

    def _read_input(self, request: AsyncRequest) -> bytes:
        """The request's input, sized first: a larger one than SageMaker takes is failed, never read into memory."""
        if request.input_location is None:
            return request.body
        try:
            return async_message.read_input(self._s3, request.input_location, MAX_INPUT_BYTES)
        except async_message.InvalidMessageError as error:
            raise AsyncRequestError("ValidationError", str(error)) from None

    def _write(self, location: str, body: bytes, content_type: str | None) -> None:
        bucket, key = split_s3_uri(location)
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type or "application/octet-stream")

    async def _fail(self, request: AsyncRequest, reason: str, detail: bytes | None = None) -> None:
        body = detail if detail else reason.encode()
        await asyncio.to_thread(self._write, request.failure_location, body, "application/json")
        await self._notify(request, "ErrorTopic", notification(request, self._region, failure_reason=reason))

    async def _notify(self, request: AsyncRequest, topic: str, message: dict[str, Any]) -> None:
        try:
            found = await asyncio.to_thread(self._describe, request.endpoint)
        except EndpointMissingError:
            return
        arn = (((found.config or {}).get("OutputConfig") or {}).get("NotificationConfig") or {}).get(topic)
        if arn:
            await asyncio.to_thread(self._sns.publish, TopicArn=arn, Message=json.dumps(message))

    async def aclose(self) -> None:
        """Stop every worker; queued requests are dropped with the stack (its state lives in memory)."""
        tasks = [task for lane in self._lanes.values() for task in lane.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()


def _failure_reason(answer: InvokeResponse) -> str:
    """SageMaker's wording: the error type and the model's own message (``ModelError`` carries it)."""
    code = answer.headers.get("x-amzn-ErrorType", "InternalFailure")
    try:
        message = str(json.loads(answer.body).get("message", ""))
    except (ValueError, AttributeError):
        message = answer.body.decode("utf-8", "replace")
    return f"{code}: {message}"


def describer(call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> Describe:
    """A :data:`Describe` over the local SageMaker's API (``SageMakerEmulator.call``): the endpoint's current
    config (during an update, the live one) and its live instances."""
    from axon_local.sagemaker.errors import SageMakerApiError

    def describe(endpoint: str) -> AsyncEndpoint:
        try:
            described = call("DescribeEndpoint", {"EndpointName": endpoint})
            config = call("DescribeEndpointConfig", {"EndpointConfigName": described["EndpointConfigName"]})
        except SageMakerApiError as error:
            raise EndpointMissingError(error.message) from None
        instances = sum(int(v.get("CurrentInstanceCount") or 0) for v in described.get("ProductionVariants") or [])
        return AsyncEndpoint(config.get("AsyncInferenceConfig"), instances)

    return describe
