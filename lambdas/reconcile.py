"""Reconciler: run every few minutes by EventBridge; finishes what the workflow and its events left undone."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.deps import default_deps
from axon.rollout.recovery import reconcile
from lambdas._shared import logger, tracer


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = dataclasses.asdict(reconcile(default_deps()))
    logger.info("reconciled", extra=report)
    return report
