"""OnUpload: the EventBridge target for bundle uploads; starts (or queues) exactly one rollout per upload."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.deps import default_deps
from axon.rollout.intake import accept_upload
from lambdas._shared import logger, metrics, tracer


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=True, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    upload = parse(event=event, model=S3EventNotificationEventBridgeModel)
    obj = upload.detail.object
    outcome = accept_upload(
        default_deps(), upload.detail.bucket.name, obj.key, obj.version_id, obj.etag or "", int(obj.size or 0)
    )
    logger.info("upload handled", extra={"result": outcome.result, "api": outcome.api, "version": outcome.version})
    if outcome.result == "started":
        metrics.add_metric(name="RolloutStarted", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
    return {"result": outcome.result, "api": outcome.api, "version": outcome.version, "message": outcome.message}
