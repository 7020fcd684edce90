"""Patch 5: Step Functions ``Wait`` states and ``Retry`` back-off last ``seconds * wait_scale``; an execution that
ends sends AWS's "Step Functions Execution Status Change" event to EventBridge.

Gap: moto's interpreter sleeps in real time, so a 15 s bake takes 15 s and a test with a one-hour ``Wait`` never
ends. Fix: ``WaitFunction._wait_interval`` (it serves ``Seconds``, ``SecondsPath``, ``Timestamp`` and
``TimestampPath``) waits the scaled time, still on the execution's ``program_state_event`` so that StopExecution
ends the wait as before; the ``time`` name in moto's ``retrier_decl`` (used only for ``time.sleep(interval)``)
becomes a clock that sleeps the scaled interval. Faithful: states, retry counts, ``MaxAttempts``, ``BackoffRate``
arithmetic and history events are moto's; only the time between them changes. With ``wait_scale == 1.0`` moto
is left untouched (real time, as on AWS).

Gap: moto sends no execution status change events. Fix: when an execution's worker reports that it ended,
the event AWS sends for a Standard workflow (``source`` aws.states, ``detail`` with executionArn,
stateMachineArn, name, status, startDate/stopDate in epoch milliseconds, input, output, error, cause) goes to the
default bus of the execution's account and region, whose rules deliver it as the EventBridge patch does.
Faithful: the same fields and statuses (SUCCEEDED, FAILED, TIMED_OUT, ABORTED); RUNNING events are not sent.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from axon_local.patches import _registry


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    _registry.patch(BaseExecutionWorkerCommunication, "terminated", _terminated_with_event)
    scale = _registry.options.wait_scale
    if scale == 1.0:
        return
    _registry.patch(WaitFunction, "_wait_interval", _scaled_wait_interval)
    _registry.patch(retrier_decl, "time", _ScaledClock(scale))


class _ScaledClock:
    """Stands in for the ``time`` module inside moto's retrier, whose only use is ``time.sleep(interval)``."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        if seconds * self.scale > 0:
            time.sleep(seconds * self.scale)


def _scaled_wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    """Replaces ``WaitFunction._wait_interval``: wait ``wait_seconds * wait_scale``, unless the execution ends."""
    deadline = time.monotonic() + wait_seconds * _registry.options.wait_scale
    while (remaining := deadline - time.monotonic()) > 0 and env.is_running():
        env.program_state_event.wait(remaining)


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def _terminated_with_event(self: Any) -> None:
    """Replaces ``BaseExecutionWorkerCommunication.terminated``: moto's bookkeeping, then AWS's status event."""
    from moto.events.models import events_backends
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    _registry.original(BaseExecutionWorkerCommunication, "terminated")(self)
    if not _registry.installed():
        return  # an execution that outlived the patches (its test ended): moto alone cannot deliver the event
    execution = self.execution
    status = execution.exec_status.value
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if status == "SUCCEEDED" else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    now = datetime.now(UTC).timestamp()
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "time": now,
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": detail,
        "ingestion-time": now,
    }
    bus = events_backends[execution.account_id][execution.region_name].event_buses.get("default")
    for rule in list(bus.rules.values()) if bus is not None else []:
        rule.send_to_targets(cast(Any, event))
