"""Patch 1: Lambda handlers run in-process, with Lambda's context, environment, error payloads and log lines."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.client import BaseClient

from axon_local.patches import _registry, lambda_guard

# Set for every in-process invocation unless the function's own environment sets them: X-Ray has no daemon
# here, and Powertools Metrics refuses to flush metrics without a namespace.
POWERTOOLS_DEFAULTS: Mapping[str, str] = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "axon-local",
}


def apply() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    _registry.patch(LambdaFunction, "_invoke_lambda", _invoke_lambda_in_process)
    _registry.patch(LambdaBackend, "invoke", _backend_invoke)
    _registry.patch(BaseClient, "_make_api_call", _make_api_call)
    _registry.patch(sys, "stdout", _StdoutRouter(sys.stdout))
    _registry.patch(type(os.environ), "items", _environ_items)
    _registry.patch(type(os.environ), "copy", _environ_copy)


def _environ_snapshot(environ: Any) -> dict[str, str]:
    """``os.environ`` as one consistent copy.

    In-process invocations set and remove their function's variables in ``os.environ`` (process-wide, see
    :func:`_environment`) while other threads read it. ``Mapping.items()`` lists the keys, then looks each one up,
    and raised ``KeyError`` when an invocation ended in between: urllib's proxy lookup, inside every new boto3
    connection, failed a local image build that way. Copying the underlying dict is one step under the GIL.
    """
    data: dict[Any, Any] = environ._data.copy()
    return {environ.decodekey(key): environ.decodevalue(value) for key, value in data.items()}


def _environ_items(self: Any) -> Any:
    return _environ_snapshot(self).items()


def _environ_copy(self: Any) -> dict[str, str]:
    return _environ_snapshot(self)


class _StdoutRouter(io.TextIOBase):
    """``sys.stdout`` that sends what a handler prints during its invocation to the invocation's log.

    On AWS the runtime captures a function's stdout into CloudWatch Logs (Powertools' JSON logs, EMF metrics);
    here every other thread's output still reaches the terminal. Loggers created while the patch is installed
    write through this router; one created before it keeps writing to the terminal.
    """

    def __init__(self, terminal: Any) -> None:
        self._terminal = terminal
        self._capture = threading.local()

    @contextmanager
    def capturing(self) -> Iterator[list[str]]:
        previous = getattr(self._capture, "lines", None)
        lines: list[str] = []
        self._capture.lines = lines
        try:
            yield lines
        finally:
            self._capture.lines = previous

    def write(self, text: str) -> int:
        lines = getattr(self._capture, "lines", None)
        if lines is None:
            return int(self._terminal.write(text))
        lines.append(text)
        return len(text)

    def flush(self) -> None:
        self._terminal.flush()

    def writable(self) -> bool:
        return True


@contextmanager
def _captured_output() -> Iterator[list[str]]:
    router = sys.stdout
    if isinstance(router, _StdoutRouter):
        with router.capturing() as lines:
            yield lines
    else:
        yield []


@dataclass(frozen=True)
class LambdaContext:
    """The context object of AWS's Python runtime, with the fields Powertools reads.

    ``memory_limit_in_mb`` is a string, as the runtime reads it from ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``.
    """

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    identity: None = None
    client_context: None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class _RuntimeFault(Exception):
    """A failure of the runtime itself (bad handler name, import error), reported with Lambda's error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class Invocation:
    """The invocation a handler runs in, for harnesses that key what they observe on it (see ``current_invocation``)."""

    function_name: str
    request_id: str
    event: Any


class ProcessExit(BaseException):
    """The Lambda process dies mid-invocation (out of memory, a native crash, ``os._exit``).

    A ``BaseException``, so handler code cannot catch it, as it cannot outlive its own process on AWS; the runtime
    reports it as Lambda does, with errorType ``Runtime.ExitError``. Raised by fault-injection harnesses only.
    """


# Handler middleware: called as ``middleware(invocation, call)`` where ``call()`` runs the handler once.
HandlerMiddleware = Callable[[Invocation, Callable[[], Any]], Any]
# A context variable, not os.environ: invocations run on Step Functions' worker threads and the test thread.
_CURRENT: ContextVar[Invocation | None] = ContextVar("axon_lambda_invocation", default=None)
_middleware: list[HandlerMiddleware] = []


def current_invocation() -> Invocation | None:
    """The invocation whose handler is running on this thread, or ``None`` outside any handler."""
    return _CURRENT.get()


@contextmanager
def handler_middleware(middleware: HandlerMiddleware) -> Iterator[None]:
    """Route every handler call through ``middleware`` for the block (one at a time; fault-injection harnesses).

    The middleware decides how often ``call()`` runs (twice: a duplicate delivery) and sees which invocation it is.
    """
    if _middleware:
        raise RuntimeError("a handler middleware is already installed")
    _middleware.append(middleware)
    try:
        yield
    finally:
        _middleware.clear()


# One invocation at a time: handlers see their function's environment in os.environ, which is process-wide.
# Re-entrant, so a handler that synchronously triggers another in-process invocation on its thread still runs.
_INVOKE_LOCK = threading.RLock()
# A handler that calls lambda:Invoke over HTTP (the ECS smoke test) is served on another thread while the caller
# holds the lock and waits for the answer. Every client call made inside an invocation marks its Invoke requests with
# the invocation's request id (a botocore hook that reads the calling thread's invocation); an Invoke so marked by an
# invocation holding the lock is its nested call and runs without taking the lock (its caller is blocked on it).
NESTED_HEADER = "x-axon-local-invocation"
_holders: list[str] = []  # request ids of the invocations now holding the lock, outermost first
_caller = threading.local()  # the request id that marked the Invoke this thread is serving


def _mark_nested(request: Any, **_: Any) -> None:
    invocation = _CURRENT.get()
    if invocation is not None:
        request.headers[NESTED_HEADER] = invocation.request_id


def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
    """``BaseClient._make_api_call``, with Lambda Invoke requests marked by the invocation that makes them."""
    if _CURRENT.get() is not None and self.meta.service_model.service_name == "lambda":
        self.meta.events.register_first("before-sign.lambda.Invoke", _mark_nested, unique_id="axon-local-nested")
    return _registry.original(BaseClient, "_make_api_call")(self, operation_name, api_params)


def _backend_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> Any:
    """``LambdaBackend.invoke`` (the Invoke API), remembering which invocation, if any, made the call."""
    from moto.awslambda.models import LambdaBackend

    _caller.request_id = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == NESTED_HEADER), None)
    try:
        return _registry.original(LambdaBackend, "invoke")(
            self, function_name, qualifier, body, headers, response_headers
        )
    finally:
        _caller.request_id = None


@contextmanager
def _serialized(request_id: str) -> Iterator[None]:
    """Hold the invocation lock, unless this is the nested call of an invocation that holds it."""
    nested = getattr(_caller, "request_id", None) in _holders
    with nullcontext() if nested else _INVOKE_LOCK:
        _holders.append(request_id)
        try:
            yield
        finally:
            _holders.remove(request_id)


def _invoke_lambda_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replaces ``LambdaFunction._invoke_lambda`` (moto runs handlers in Docker; there is none here).

    Gap: without Docker every invoke answers "error running docker"; ``use_docker=False`` echoes the payload.
    Fix: import the module named by the function's ``Handler`` (``lambdas.workflow.validate_bundle``), call the
    handler with the decoded payload and a :class:`LambdaContext`, the function's environment applied for the call.
    Faithful: moto's ``invoke`` turns the returned ``(payload, errored, logs)`` into the Invoke API response
    (``FunctionError`` header when errored), which is also what the Step Functions interpreter, S3 notifications
    and EventBridge targets go through; the error payload ``{"errorType", "errorMessage", "requestId",
    "stackTrace"}`` has the exception's class name as ``errorType``, so ``Retry``/``Catch`` match it as on AWS.
    """
    if isinstance(event, str | bytes):
        with suppress(ValueError):
            event = json.loads(event)
    request_id = str(uuid.uuid4())
    stream = f"{datetime.now(UTC):%Y/%m/%d}/[{self.version}]{request_id.replace('-', '')}"
    context = LambdaContext(
        function_name=self.function_name,
        function_version=str(self.version),
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=str(self.memory_size),
        aws_request_id=request_id,
        log_group_name=self.logs_group_name,
        log_stream_name=stream,
        deadline=time.monotonic() + float(self.timeout),
    )
    environment = {
        **POWERTOOLS_DEFAULTS,
        **_registry.options.lambda_environment,
        **self.environment_vars,
        # Reserved by Lambda: a function's own environment cannot override these.
        "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(self.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": self.logs_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": self.region,
        "AWS_DEFAULT_REGION": self.region,
        "_HANDLER": self.handler or "",
    }
    lambda_guard.check_invocation(self.function_name, self.handler)  # the last check before any import
    started = time.monotonic()
    invocation = Invocation(self.function_name, request_id, event)
    with _serialized(request_id), _environment(environment), _captured_output() as printed:
        token = _CURRENT.set(invocation)
        try:
            handler = _resolve_handler(self.handler or "")

            def call() -> Any:
                return handler(event, context)

            result = _middleware[0](invocation, call) if _middleware else call()
            try:
                payload, errored = json.dumps(result), False
            except (TypeError, ValueError) as exc:
                raise _RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc
        except Exception as exc:
            error_type = exc.error_type if isinstance(exc, _RuntimeFault) else type(exc).__name__
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
            error = {"errorMessage": str(exc), "errorType": error_type, "requestId": request_id, "stackTrace": stack}
            payload, errored = json.dumps(error), True
        except ProcessExit as exit_:
            # What Lambda reports when the runtime process exits before the handler returned.
            message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_ or 'signal: killed'}"
            payload, errored = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True
        finally:
            _CURRENT.reset(token)
    lines = [f"START RequestId: {request_id} Version: {self.version}"]
    lines += [line for line in "".join(printed).splitlines() if line.strip()]
    if errored:
        lines.append(f"[ERROR] {payload}")
    duration_ms = (time.monotonic() - started) * 1000
    lines += [f"END RequestId: {request_id}", f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"]
    self.logs_backend.ensure_log_group(self.logs_group_name)
    self.save_logs("\n".join(lines))
    return payload, errored, "\n".join(lines)


def _resolve_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise _RuntimeFault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': expected module.function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _RuntimeFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _RuntimeFault("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function  # type: ignore[no-any-return]


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
