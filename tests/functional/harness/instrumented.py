"""A Powertools-decorated handler, imported only by its first invocation, as on AWS: Logger, Metrics and Tracer
are built at import from the environment the patch applies (no namespace or X-Ray daemon configured here)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="harness")
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> dict[str, Any]:
    metrics.add_metric(name="Calls", unit=MetricUnit.Count, value=1)
    logger.info("instrumented call")
    return {"function_name": logger.get_current_keys().get("function_name"), "namespace": metrics.namespace}
