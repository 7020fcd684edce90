"""The autoscaler Lambda and the EventBridge Scheduler schedule that runs it every minute."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.functions import AUTOSCALER_FUNCTION
from axon.names import AUTOSCALER_SCHEDULE, AUTOSCALER_SCHEDULE_EXPRESSION
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess
from cdk_app.constructs.scheduled import ScheduledFunction

# A tick is worth retrying only within its own minute: the next tick reads fresher metrics anyway.
TICK_MAX_AGE = Duration.seconds(60)  # Scheduler's minimum maximumEventAge
TICK_RETRIES = 2


class Autoscaler(ScheduledFunction):
    """One tick at a time (reserved concurrency 1), every minute, failed ticks kept in the dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        access: ControlPlaneAccess,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            spec=AUTOSCALER_FUNCTION,
            name=AUTOSCALER_SCHEDULE,
            expression=AUTOSCALER_SCHEDULE_EXPRESSION,
            description="axon: one autoscaler tick per minute",
            max_event_age=TICK_MAX_AGE,
            retries=TICK_RETRIES,
            packaging=packaging,
            environment=environment,
            access=access,
            dead_letters=dead_letters,
        )
