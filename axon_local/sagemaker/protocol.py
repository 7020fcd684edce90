"""SageMaker's JSON 1.1 wire protocol (``X-Amz-Target: SageMaker.<Op>``) over the emulator.

Requests are validated against botocore's service model before the emulator sees them; responses are cut to the
output shape (no member AWS would not send, timestamps as epoch seconds, absent values omitted), so boto3, the
AWS CLI and Step Functions' ``aws-sdk:sagemaker`` integration parse them as they parse AWS's.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from axon_local.sagemaker.emulator import SageMakerEmulator
from axon_local.sagemaker.errors import SageMakerApiError
from axon_local.sagemaker.validation import validate_request

TARGET_PREFIX = "SageMaker."
_CONTENT_TYPE = "application/x-amz-json-1.1"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


def shape_output(value: Any, shape: Shape) -> Any:
    """``value`` cut to ``shape``: unknown members and ``None`` dropped, timestamps as epoch seconds."""
    if isinstance(shape, StructureShape):
        return {
            key: shape_output(value[key], member) for key, member in shape.members.items() if value.get(key) is not None
        }
    if isinstance(shape, ListShape):
        return [shape_output(item, shape.member) for item in value]
    if isinstance(shape, MapShape):
        return {key: shape_output(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp":
        return float(value)  # the emulator keeps epoch seconds; JSON 1.1 sends them as numbers
    return value


def _error(error: SageMakerApiError, request_id: str) -> Response:
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    return Response(error.status, _headers(request_id), body)


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": _CONTENT_TYPE, "x-amzn-RequestId": request_id}


class SageMakerProtocol:
    """Turns one HTTP request into one emulator call; owns no state of its own."""

    def __init__(self, emulator: SageMakerEmulator) -> None:
        self.emulator = emulator

    def handles(self, target: str | None) -> bool:
        """True for the operations emulated here; other SageMaker operations go on to moto."""
        if not target or not target.startswith(TARGET_PREFIX):
            return False
        return target[len(TARGET_PREFIX) :] in self.emulator.operations

    def handle(self, target: str, body: bytes) -> Response:
        request_id = str(uuid.uuid4())
        operation = target[len(TARGET_PREFIX) :]
        try:
            try:
                params = json.loads(body or b"{}")
            except ValueError as error:
                raise SageMakerApiError("SerializationException", f"Request body is not valid JSON: {error}") from None
            model = service_model().operation_model(operation)
            assert model.input_shape is not None  # every emulated operation takes input
            validate_request(params, model.input_shape)
            result = self.emulator.call(operation, params)
            shaped = shape_output(result, model.output_shape) if model.output_shape is not None else {}
        except SageMakerApiError as error:
            return _error(error, request_id)
        except Exception:
            _log.exception("local SageMaker %s failed", operation)
            return _error(
                SageMakerApiError("InternalFailure", "Internal error in the local emulator.", 500), request_id
            )
        return Response(200, _headers(request_id), json.dumps(shaped).encode())
