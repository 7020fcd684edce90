"""The autoscaler Lambda and the EventBridge Scheduler schedule that runs it every minute."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.names import AUTOSCALER_SCHEDULE, AUTOSCALER_SCHEDULE_EXPRESSION
from axon.rollout.workflow import AUTOSCALER_FUNCTION
from cdk_app.constructs.function import AxonFunction
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess
from cdk_app.nag import acknowledge, resource_finding

# A tick is worth retrying only within its own minute: the next tick reads fresher metrics anyway.
TICK_MAX_AGE = Duration.seconds(60)  # Scheduler's minimum maximumEventAge
TICK_RETRIES = 2


class Autoscaler(Construct):
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
        super().__init__(scope, construct_id)
        self.function = AxonFunction(
            self,
            AUTOSCALER_FUNCTION,
            packaging=packaging,
            environment=environment,
            permissions=access.for_function(AUTOSCALER_FUNCTION.module),
            reserved_concurrency=1,
        )
        # Scheduler invokes asynchronously; Lambda's own async retries would replay a stale tick.
        self.function.function.configure_async_invoke(retry_attempts=0, max_event_age=TICK_MAX_AGE)
        invoke_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="axon: lets EventBridge Scheduler invoke the autoscaler",
        )
        acknowledge(
            invoke_role,
            resource_finding(self, f"{self.function.function_arn}:*"),
            "CDK's invoke grant also covers the function's versions and aliases (<arn>:*); it is this one function.",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=AUTOSCALER_SCHEDULE,
            description="axon: one autoscaler tick per minute",
            schedule=scheduler.ScheduleExpression.expression(AUTOSCALER_SCHEDULE_EXPRESSION),
            time_window=scheduler.TimeWindow.off(),
            target=scheduler_targets.LambdaInvoke(
                self.function.function,
                dead_letter_queue=dead_letters,
                retry_attempts=TICK_RETRIES,
                max_event_age=TICK_MAX_AGE,
                role=invoke_role,
            ),
        )
