"""The request message on an ECS async API's SQS queue (``names.async_queue_name``): one JSON object per request.

ECS has no InvokeEndpointAsync, so ``axon submit`` puts the input in S3 as it does for SageMaker and sends this
message to the API's queue instead; ``axon-serve`` in worker mode (:mod:`axon_serving.queue_worker`) receives it.
Field names are InvokeEndpointAsync's where one applies (``InferenceId``, ``InputLocation``, ``ContentType``,
``Accept``, ``RequestTTLSeconds``), plus where the outcome goes (``OutputLocation``, ``FailureLocation``: S3 URIs
that SageMaker derives from the endpoint config and returns in its answer). No AWS client of its own (the one
S3 read takes the caller's), so the CLI, the platform, the serving runtime and the local stack share it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from axon import names

MIN_TTL_SECONDS = 60  # InvokeEndpointAsync's RequestTTLSeconds range
MAX_TTL_SECONDS = 21_600
DEFAULT_TTL_SECONDS = MAX_TTL_SECONDS  # SageMaker's default: 6 h
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# The id becomes part of S3 keys (``results/<api>/<id>.out``): a safe subset of SageMaker's InferenceId (<= 64).
_INFERENCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAX_HEADER_VALUE = 1024  # ContentType and Accept are at most 1024 characters in InvokeEndpointAsync
# What SQS answers GetQueueUrl for a queue that does not exist (the JSON protocol's code, then the query one's).
QUEUE_MISSING_CODES = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})


class InvalidMessageError(ValueError):
    """A message that is not an async request of this API: it can never succeed (it ends in the DLQ)."""


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; anything else is refused."""
    bucket, sep, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not sep or not bucket or not key:
        raise InvalidMessageError(f"not an s3://bucket/key URI: {uri!r}")
    return bucket, key


@dataclass(frozen=True)
class AsyncRequest:
    inference_id: str
    input_location: str
    output_location: str
    failure_location: str
    content_type: str = DEFAULT_CONTENT_TYPE
    accept: str | None = None
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    @classmethod
    def for_api(
        cls,
        api: str,
        bucket: str,
        inference_id: str,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        accept: str | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> AsyncRequest:
        """The request whose input is ``inputs/<api>/<id>`` and whose outcome goes where SageMaker's would."""
        request = cls(
            inference_id=inference_id,
            input_location=s3_uri(bucket, f"{names.async_input_prefix(api)}{inference_id}"),
            output_location=s3_uri(bucket, names.async_output_key(api, inference_id)),
            failure_location=s3_uri(bucket, names.async_failure_key(api, inference_id)),
            content_type=content_type,
            accept=accept,
            ttl_seconds=ttl_seconds,
        )
        request.check(api)
        return request

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "InferenceId": self.inference_id,
            "InputLocation": self.input_location,
            "ContentType": self.content_type,
            "RequestTTLSeconds": self.ttl_seconds,
            "OutputLocation": self.output_location,
            "FailureLocation": self.failure_location,
        }
        if self.accept is not None:
            body["Accept"] = self.accept
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, api: str) -> AsyncRequest:
        """Parse and check a message body for ``api``; :class:`InvalidMessageError` says what is wrong."""
        try:
            body = json.loads(text)
        except ValueError:
            raise InvalidMessageError("the message body is not JSON") from None
        if not isinstance(body, dict):
            raise InvalidMessageError("the message body is not a JSON object")
        try:
            request = cls(
                inference_id=_text(body, "InferenceId"),
                input_location=_text(body, "InputLocation"),
                output_location=_text(body, "OutputLocation"),
                failure_location=_text(body, "FailureLocation"),
                content_type=_text(body, "ContentType", DEFAULT_CONTENT_TYPE),
                accept=_text(body, "Accept") if "Accept" in body else None,
                ttl_seconds=int(body.get("RequestTTLSeconds", DEFAULT_TTL_SECONDS)),
            )
        except (TypeError, ValueError) as error:
            raise InvalidMessageError(str(error)) from None
        request.check(api)
        return request

    def check(self, api: str) -> None:
        """Every location in the API's own prefixes of one bucket (the API's role could not reach others anyway),
        the id usable in a key, the TTL in SageMaker's range."""
        if not _INFERENCE_ID.match(self.inference_id):
            raise InvalidMessageError(f"InferenceId {self.inference_id!r} is not 1-64 of [A-Za-z0-9._-]")
        if not MIN_TTL_SECONDS <= self.ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidMessageError(f"RequestTTLSeconds must be {MIN_TTL_SECONDS}-{MAX_TTL_SECONDS}")
        for value in (self.content_type, self.accept or ""):
            if len(value) > _MAX_HEADER_VALUE:
                raise InvalidMessageError("ContentType and Accept are at most 1024 characters")
        buckets = set()
        for uri, prefix in (
            (self.input_location, names.async_input_prefix(api)),
            (self.output_location, names.async_output_prefix(api)),
            (self.failure_location, names.async_output_prefix(api)),
        ):
            bucket, key = split_s3_uri(uri)
            if not key.startswith(prefix) or ".." in key.split("/"):
                raise InvalidMessageError(f"{uri} is not under {prefix} of the API {api}")
            buckets.add(bucket)
        if len(buckets) != 1:
            raise InvalidMessageError("the input and outcome locations must be in one bucket")


class InputTooLargeError(InvalidMessageError):
    """The request's input is larger than the consumer takes: failed from its size, never read."""


def read_input(s3: Any, uri: str, limit: int) -> bytes:
    """An async request's input from S3, sized first: one over ``limit`` bytes is refused without being read, and
    no more than ``limit`` is read should the object grow between the two calls (an empty one needs no read, and
    S3 refuses a range on it)."""
    bucket, key = split_s3_uri(uri)
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    if size > limit:
        raise InputTooLargeError(f"the input is {size} bytes; the limit is {limit}")
    if size == 0:
        return b""
    data: bytes = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")["Body"].read()
    return data


def notification(
    *,
    region: str,
    endpoint: str,
    inference_id: str,
    content_type: str,
    input_location: str,
    received: float,
    now: float,
    response: dict[str, str],
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """The message SageMaker publishes to an async endpoint's success (``Completed``) or error (``Failed``) topic,
    with its field names (docs/async.md); ``response`` is the output's ``contentType`` and ``outputLocation``, or
    the ``failureLocation``. One shape for every producer: the local stack's queue and the ECS worker."""
    body: dict[str, Any] = {
        "awsRegion": region,
        "eventTime": _timestamp(now),
        "receivedTime": _timestamp(received),
        "invocationStatus": "Failed" if failure_reason is not None else "Completed",
        "requestParameters": {"contentType": content_type, "endpointName": endpoint, "inputLocation": input_location},
        "responseParameters": response,
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if failure_reason is not None:
        body["failureReason"] = failure_reason
    return body


def _timestamp(epoch: float) -> str:
    """``2022-01-25T22:46:00.608Z``: milliseconds, UTC, as in SageMaker's notifications."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(body: dict[str, Any], field: str, default: str | None = None) -> str:
    value = body.get(field, default)
    if not isinstance(value, str) or not value:
        raise InvalidMessageError(f"{field} must be a non-empty string")
    return value
