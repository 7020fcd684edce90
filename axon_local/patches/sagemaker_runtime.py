"""Patch 7: sagemaker-runtime InvokeEndpoint answers only endpoints that exist, and can fail on demand.

Gap: moto's InvokeEndpoint returns a stub body for any endpoint name, even one that was never created, and can
never fail, so a smoke test could never catch a broken model. Fix: an endpoint SageMaker does not know (or that
is not ``InService``/``Updating``) answers ``ValidationError`` as sagemaker-runtime does, and
:data:`invocation_outcomes` makes an endpoint's invocations answer ``ModelError`` (HTTP 424 with
``OriginalStatusCode``/``OriginalMessage``, the shape sagemaker-runtime uses when the container answers an
error). Faithful: the error codes and status are the service model's; the stub body for a healthy endpoint is
moto's own (a real model's answer is the local stack's job).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

from axon_local.patches import _registry, sagemaker

_SERVING = {"InService", "Updating", "SystemUpdating"}


class InvocationOutcomes:
    """Test control: ``fail(endpoint, status, message)`` until ``clear()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, tuple[int, str]] = {}

    def fail(self, endpoint_name: str, status: int = 500, message: str = "the model raised an exception") -> None:
        with self._lock:
            self._failing[endpoint_name] = (status, message)

    def clear(self) -> None:
        with self._lock:
            self._failing.clear()

    def failure(self, endpoint_name: str) -> tuple[int, str] | None:
        with self._lock:
            return self._failing.get(endpoint_name)


invocation_outcomes = InvocationOutcomes()


def apply() -> None:
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    _registry.patch(SageMakerRuntimeResponse, "invoke_endpoint", _invoke_endpoint)


def _error(error_type: str, message: str, status: int, **extra: Any) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(error_type, message)
    error.code = status
    if extra:
        body = json.loads(error.description)
        body.update(extra)
        error.description = json.dumps(body)
    return error


def _invoke_endpoint(self: Any) -> Any:
    name = unquote(self.path.split("/")[2])  # POST /endpoints/<name>/invocations
    if sagemaker.endpoint_status(self.current_account, self.region, name) not in _SERVING:
        raise _error("ValidationError", f"Endpoint {name} of account {self.current_account} not found.", 400)
    failure = invocation_outcomes.failure(name)
    if failure is not None:
        status, message = failure
        raise _error(
            "ModelError",
            f'Received server error ({status}) from primary with message "{message}".',
            424,
            OriginalStatusCode=status,
            OriginalMessage=message,
        )
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    return _registry.original(SageMakerRuntimeResponse, "invoke_endpoint")(self)
