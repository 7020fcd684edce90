"""Autoscaler: run every minute by EventBridge Scheduler; scales every live API on its in-flight requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.autoscaler.cloudwatch import CloudWatchMetricSource
from axon.autoscaler.dynamodb import DynamoDbScalerStateStore
from axon.autoscaler.emf import emf_document
from axon.autoscaler.live import live_apis
from axon.autoscaler.tick import TickSettings, tick
from axon.deps import default_deps
from lambdas._shared import logger, tracer


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = default_deps()
    summary = tick(
        now=datetime.now(UTC),
        live_apis=lambda: live_apis(deps.registry),
        platform_for=deps.platform_for,
        metrics=CloudWatchMetricSource(deps.client("cloudwatch")),
        store=DynamoDbScalerStateStore(deps.settings.registry_table, deps.client("dynamodb")),
        settings=TickSettings(
            max_total_replicas=deps.settings.max_total_replicas, dry_run=deps.settings.autoscaler_dry_run
        ),
    )
    for record in summary.records:
        print(json.dumps(emf_document(record)))  # EMF: one document per API, read by CloudWatch from the log
    result = {"apis": summary.apis, "changed": summary.changed, "errors": summary.errors, "skipped": summary.skipped}
    logger.info("autoscaler tick", extra={**result, "metrics_error": summary.metrics_error})
    return result
