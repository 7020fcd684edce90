"""ECS smoke test, from inside AxonEcs's VPC: one bounded request to this stack's ALB (axon.platforms.ecs.smoke).

Invoked by AxonCore's rollout Lambdas, which cannot reach an internal ALB. No AWS permissions beyond logs.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.platforms.ecs import smoke as ecs_smoke

logger = Logger(service="axon-ecs-smoke")


@logger.inject_lambda_context(log_event=False, clear_state=True)  # the event holds the test rule's secret
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = ecs_smoke.perform(event, ecs_smoke.target())
    logger.info(
        "smoke request sent",
        extra={
            "path": event.get("path"),
            "status": answer["status"],
            "elapsed": answer["elapsed"],
            "error": answer["error"],
        },
    )
    return answer
