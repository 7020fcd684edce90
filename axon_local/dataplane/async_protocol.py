"""sagemaker-runtime ``InvokeEndpointAsync`` on the wire, from botocore's own model: the request's headers to
parameters (validated as the service validates them), where the answer and the failure go, and SageMaker's
notification bodies. Pure functions; :mod:`axon_local.dataplane.async_queue` does the I/O.

The REST shape (botocore ``sagemaker-runtime`` 2017-05-13): ``POST /endpoints/{EndpointName}/async-invocations``,
every parameter an ``X-Amzn-SageMaker-*`` header (``InputLocation``, ``InferenceId``, ``ContentType``, ``Accept``,
``CustomAttributes``, ``S3OutputPathExtension``, ``Filename``, ``RequestTTLSeconds``,
``InvocationTimeoutSeconds``); the answer is ``202`` with ``{"InferenceId": ...}`` as its JSON body and the
``X-Amzn-SageMaker-OutputLocation`` and ``X-Amzn-SageMaker-FailureLocation`` headers.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, StructureShape

from axon import async_message
from axon_local.sagemaker.errors import SageMakerApiError
from axon_local.sagemaker.validation import validate_request

OPERATION = "InvokeEndpointAsync"
DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900  # InvocationTimeoutSeconds' default (botocore's documentation: 15 minutes)


class AsyncRequestError(Exception):
    """An InvokeEndpointAsync the service refuses: its error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@cache
def operation_model() -> OperationModel:
    return botocore.session.get_session().get_service_model("sagemaker-runtime").operation_model(OPERATION)


def input_shape() -> StructureShape:
    shape = operation_model().input_shape
    assert shape is not None  # InvokeEndpointAsync has an input
    return shape


@dataclass(frozen=True)
class AsyncRequest:
    """A validated request, as queued."""

    endpoint: str
    inference_id: str
    input_location: str | None  # None: the request's own body is the input
    body: bytes
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    output_location: str
    failure_location: str
    ttl_seconds: int
    received: datetime
    invocation_timeout_seconds: int = DEFAULT_INVOCATION_TIMEOUT_SECONDS  # how long the model may take


def request_params(endpoint: str, headers: dict[str, str]) -> dict[str, Any]:
    """The operation's parameters from the lower-cased request headers (the model says which header is which)."""
    params: dict[str, Any] = {"EndpointName": endpoint}
    for name, member in input_shape().members.items():
        header = member.serialization.get("name", "").lower()
        if member.serialization.get("location") != "header" or header not in headers:
            continue
        value: Any = headers[header]
        if member.type_name == "integer":
            try:
                value = int(value)
            except ValueError:
                raise AsyncRequestError("ValidationError", f"{name} must be an integer, not {value!r}.") from None
        params[name] = value
    return params


def validate(params: dict[str, Any]) -> None:
    """botocore's checks plus the service's maximums, minimums, enums and patterns (as the local SageMaker's)."""
    try:
        validate_request(params, input_shape())
    except SageMakerApiError as error:
        raise AsyncRequestError("ValidationError", error.message) from None


def _join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts if p)])


def locations(output_config: dict[str, Any], params: dict[str, Any], inference_id: str) -> tuple[str, str]:
    """(output, failure) S3 URIs: ``<S3OutputPath>[/<extension>]/<Filename or id.out>`` and
    ``<S3FailurePath>[/<extension>]/<id>-error.out`` (the output path when no failure path is configured)."""
    extension = params.get("S3OutputPathExtension", "")
    output = _join(output_config["S3OutputPath"], extension, params.get("Filename") or f"{inference_id}.out")
    failure_root = output_config.get("S3FailurePath") or output_config["S3OutputPath"]
    return output, _join(failure_root, extension, f"{inference_id}-error.out")


def parse(endpoint: str, headers: dict[str, str], body: bytes, output_config: dict[str, Any]) -> AsyncRequest:
    """A queued request from the HTTP request, or :class:`AsyncRequestError` as the service would answer."""
    params = request_params(endpoint, headers)
    validate(params)
    if "InputLocation" not in params and not body:
        raise AsyncRequestError("ValidationError", "InputLocation is required.")
    inference_id = params.get("InferenceId") or str(uuid.uuid4())
    output, failure = locations(output_config, params, inference_id)
    return AsyncRequest(
        endpoint=endpoint,
        inference_id=inference_id,
        input_location=params.get("InputLocation"),
        body=body,
        content_type=params.get("ContentType"),
        accept=params.get("Accept"),
        custom_attributes=params.get("CustomAttributes"),
        output_location=output,
        failure_location=failure,
        ttl_seconds=int(params.get("RequestTTLSeconds", async_message.DEFAULT_TTL_SECONDS)),
        received=datetime.now(UTC),
        invocation_timeout_seconds=int(params.get("InvocationTimeoutSeconds", DEFAULT_INVOCATION_TIMEOUT_SECONDS)),
    )


def accepted(request: AsyncRequest) -> tuple[int, dict[str, str], bytes]:
    """The 202 answer: ``InferenceId`` in the JSON body, the two locations as headers (botocore's output shape)."""
    headers = {
        "Content-Type": "application/json",
        "X-Amzn-SageMaker-OutputLocation": request.output_location,
        "X-Amzn-SageMaker-FailureLocation": request.failure_location,
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return 202, headers, json.dumps({"InferenceId": request.inference_id}).encode()


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); other forms are refused (the local stack has no virtual hosts)."""
    try:
        return async_message.split_s3_uri(uri)
    except async_message.InvalidMessageError:
        raise AsyncRequestError(
            "ValidationError", f"InputLocation must be an s3://bucket/key URI, not {uri!r}."
        ) from None


def notification(
    request: AsyncRequest, region: str, *, content_type: str | None = None, failure_reason: str | None = None
) -> dict[str, Any]:
    """The message SageMaker publishes to the success (``Completed``) or error (``Failed``) topic."""
    response = (
        {"failureLocation": request.failure_location}
        if failure_reason is not None
        else {
            "contentType": content_type or async_message.DEFAULT_CONTENT_TYPE,
            "outputLocation": request.output_location,
        }
    )
    return async_message.notification(
        region=region,
        endpoint=request.endpoint,
        inference_id=request.inference_id,
        content_type=request.content_type or async_message.DEFAULT_CONTENT_TYPE,
        input_location=request.input_location or "",
        received=request.received.timestamp(),
        now=time.time(),
        response=response,
        failure_reason=failure_reason,
    )
