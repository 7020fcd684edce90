"""Patch 8: with ``PatchOptions.lambda_handlers`` set, only those functions, with those handlers, exist and run.

Gap: moto accepts any ``Handler``, and patch 1 (:mod:`.lambda_runtime`) imports and calls it inside the serving
process, so whoever can call CreateFunction could run any importable callable there (``cProfile.run`` takes a
string of code). AWS runs a handler in its own sandbox; here it shares the stack's process.
Fix: CreateFunction, UpdateFunctionConfiguration, UpdateFunctionCode and every kind of invocation (Invoke,
EventBridge and S3 deliveries, Step Functions tasks, CloudFormation) are refused unless the function is one of
the allowed names with exactly its handler. The runtime checks again before it imports anything
(:func:`check_invocation`), so a path into ``_invoke_lambda`` that bypasses these methods is refused too.
Faithful: a refusal is what AWS answers a caller without the permission: ``AccessDeniedException``, HTTP 403.
"""

from __future__ import annotations

import logging
from typing import Any

from axon_local.patches import _registry

logger = logging.getLogger(__name__)


def access_denied(action: str, function_name: str, handler: str | None) -> Exception:
    """Lambda's answer to a call its caller may not make (moto renders it: ``AccessDeniedException``, 403)."""
    from moto.core.exceptions import JsonRESTError

    message = (
        f"The axon local stack does not allow lambda:{action} on function {function_name!r} with handler "
        f"{handler!r}: only the functions it provisions, each with its own handler under 'lambdas.', may be "
        "created, changed or invoked here."
    )
    logger.warning("refused lambda:%s on %r (handler %r): not an axon function", action, function_name, handler)
    error = JsonRESTError("AccessDeniedException", message)
    error.code = 403
    return error


def apply() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    _registry.patch(LambdaBackend, "create_function", _create_function)
    _registry.patch(LambdaFunction, "update_configuration", _update_configuration)
    _registry.patch(LambdaFunction, "update_function_code", _update_function_code)
    _registry.patch(LambdaFunction, "invoke", _invoke)


def allowed(function_name: str, handler: str | None) -> bool:
    """Whether ``function_name`` may exist and run with ``handler`` under the current options."""
    handlers = _registry.options.lambda_handlers
    return handlers is None or (handler is not None and handlers.get(function_name) == handler)


def check_invocation(function_name: str, handler: str | None) -> None:
    """The runtime's last check before it imports a handler; raises :func:`access_denied`'s error."""
    if not allowed(function_name, handler):
        raise access_denied("InvokeFunction", function_name, handler)


def _create_function(self: Any, spec: dict[str, Any]) -> Any:
    name, handler = spec.get("FunctionName"), spec.get("Handler")
    if not allowed(str(name), handler):
        raise access_denied("CreateFunction", str(name), handler)
    return _registry.original(_backend_class(), "create_function")(self, spec)


def _update_configuration(self: Any, config: dict[str, Any]) -> Any:
    handler = config.get("Handler", self.handler)
    if not allowed(self.function_name, handler):
        raise access_denied("UpdateFunctionConfiguration", self.function_name, handler)
    return _registry.original(_function_class(), "update_configuration")(self, config)


def _update_function_code(self: Any, updated_spec: dict[str, Any]) -> Any:
    if not allowed(self.function_name, self.handler):
        raise access_denied("UpdateFunctionCode", self.function_name, self.handler)
    return _registry.original(_function_class(), "update_function_code")(self, updated_spec)


def _invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    check_invocation(self.function_name, self.handler)
    return _registry.original(_function_class(), "invoke")(self, body, request_headers, response_headers)


def _backend_class() -> Any:
    from moto.awslambda.models import LambdaBackend

    return LambdaBackend


def _function_class() -> Any:
    from moto.awslambda.models import LambdaFunction

    return LambdaFunction
