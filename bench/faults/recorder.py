"""Record every AWS call made inside a Lambda invocation, and inject one fault at one call site.

Two hooks, both undone on exit: ``botocore.client.BaseClient._make_api_call`` is wrapped (every boto3 call of a
handler goes through it), and a handler middleware of the in-process Lambda runtime counts invocations per function
and runs the targeted one twice for the ``twice`` fault. A call belongs to an invocation when the runtime's
``current_invocation()`` is set on the calling thread, so the test's own calls and the Step Functions interpreter's
Lambda invokes (on threads with no invocation) are never recorded.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from axon_local.patches.lambda_runtime import Invocation, ProcessExit, current_invocation, handler_middleware
from bench.faults.model import CallSite, Fault, Injection, error_shape

ROLLOUT = "rollout"  # the phase whose calls are call sites
SETTLE = "settle"  # reconcile period: recorded for the invariants, never a call site


@dataclass(frozen=True)
class Call:
    """One recorded call: where it was made, its parameters (bytes elided), and how it ended."""

    site: CallSite
    phase: str
    params: dict[str, Any]
    error: str | None = None  # the error code it raised, if any
    injected: Fault | None = None


def _plain(value: Any) -> Any:
    """Parameters as plain data; bodies and streams are replaced by their type name."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return f"<{type(value).__name__}>"


def client_error(client: BaseClient, fault: Fault, operation: str) -> ClientError:
    """The exception botocore raises for the fault's error code, after its own retries gave up."""
    service = client.meta.service_model.service_name
    shape = error_shape(fault, service)
    response: Any = {
        "Error": {"Code": shape.code, "Message": f"injected {fault} fault"},
        "ResponseMetadata": {"HTTPStatusCode": shape.status, "MaxAttemptsReached": True, "RetryAttempts": 4},
    }
    error_class: type[ClientError] = getattr(client.exceptions, "from_code")(shape.code)  # noqa: B009
    return error_class(response, operation)


class Recorder:
    """Records calls of handlers (``calls``) and fires ``injection`` once (``fired``) while entered."""

    def __init__(self, injection: Injection | None = None) -> None:
        self.injection = injection
        self.calls: list[Call] = []
        self.fired = False
        self.phase = ROLLOUT
        self._lock = threading.Lock()
        self._invocations: Counter[str] = Counter()  # function -> invocations so far
        self._numbers: dict[str, int] = {}  # request id -> which invocation of its function it is
        self._ordinals: dict[str, Counter[tuple[str, str]]] = {}  # request id -> (service, operation) counts

    @contextmanager
    def active(self) -> Iterator[Recorder]:
        original = getattr(BaseClient, "_make_api_call")  # noqa: B009 (private to botocore, untyped)
        recorder = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            return recorder._call(original, client, operation, params)

        with ExitStack() as stack:
            stack.enter_context(handler_middleware(self._middleware))
            setattr(BaseClient, "_make_api_call", make_api_call)  # noqa: B010
            stack.callback(setattr, BaseClient, "_make_api_call", original)
            yield self

    def sites(self) -> list[CallSite]:
        """The distinct call sites of the rollout phase, each at the first invocation where it appears."""
        first: dict[tuple[str, str, str, int], CallSite] = {}
        for call in self.calls:
            if call.phase == ROLLOUT:
                first.setdefault(call.site.key, call.site)
        return list(first.values())

    def _middleware(self, invocation: Invocation, call: Callable[[], Any]) -> Any:
        with self._lock:
            self._invocations[invocation.function_name] += 1
            number = self._invocations[invocation.function_name]
            self._numbers[invocation.request_id] = number
            self._ordinals[invocation.request_id] = Counter()
            twice = self._due_twice(invocation.function_name, number)
        if twice:
            # The first delivery's result (or error) is lost, as when a caller retries after a lost response.
            with suppress(Exception):
                call()
        return call()

    def _due_twice(self, function: str, number: int) -> bool:
        target = self.injection
        if self.fired or target is None or target.fault is not Fault.TWICE:
            return False
        if (target.site.function, target.site.invocation) != (function, number):
            return False
        self.fired = True
        return True

    def _call(self, original: Callable[..., Any], client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        invocation = current_invocation()
        if invocation is None:
            return original(client, operation, params)
        service = client.meta.service_model.service_name
        with self._lock:
            number = self._numbers.get(invocation.request_id, 0)
            ordinals = self._ordinals.setdefault(invocation.request_id, Counter())
            ordinals[(service, operation)] += 1
            site = CallSite(invocation.function_name, service, operation, ordinals[(service, operation)], number)
            fault = self._due(site)
        record = Call(site, self.phase, _plain(params), injected=fault)
        if fault in (Fault.RETRYABLE, Fault.PERMANENT):
            error = client_error(client, fault, operation)
            self._append(record, error)
            raise error
        try:
            result = original(client, operation, params)
        except ClientError as error:
            self._append(record, error)
            raise
        self._append(record, None)
        if fault is Fault.CRASH:
            raise ProcessExit("signal: killed")
        return result

    def _due(self, site: CallSite) -> Fault | None:
        target = self.injection
        if self.fired or target is None or target.fault is Fault.TWICE or target.site != site:
            return None
        self.fired = True
        return target.fault

    def _append(self, record: Call, error: ClientError | None) -> None:
        if error is not None:
            code = str(error.response.get("Error", {}).get("Code", type(error).__name__))
            record = Call(record.site, record.phase, record.params, code, record.injected)
        with self._lock:
            self.calls.append(record)
