"""OnExecutionEnd: the EventBridge target for rollout executions that ended FAILED, TIMED_OUT or ABORTED.

A timeout or an abort cannot be caught inside the state machine, and HandleFailure itself may have failed: this
does HandleFailure's work for such an execution (a no-op when it already ran), so no lease or half-shifted
traffic outlives the execution.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.deps import default_deps
from axon.rollout.recovery import recover_execution
from axon.rollout.state import RolloutState
from lambdas._shared import logger, tracer, transient_errors


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=True, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event["detail"]
    state = RolloutState.model_validate(json.loads(detail["input"]))
    logger.set_correlation_id(state.execution)
    with transient_errors():
        recover_execution(default_deps(), state.api, state.seq, state.execution, detail["status"])
    logger.info("execution end handled", extra={"api": state.api, "seq": state.seq, "status": detail["status"]})
    return {"api": state.api, "seq": state.seq, "status": detail["status"]}
