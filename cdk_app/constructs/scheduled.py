"""A Lambda that EventBridge Scheduler runs on a fixed rate, one run at a time, failed runs kept as dead letters.

The autoscaler (every minute) and the reconciler (every five) are both this: a run is worth retrying only within
its own period, since the next run reads fresher state anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.functions import LambdaFunction
from cdk_app.constructs.function import AxonFunction
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess
from cdk_app.nag import acknowledge, resource_finding


class ScheduledFunction(Construct):
    """``spec`` with reserved concurrency 1, invoked by the schedule ``name`` at ``expression``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: LambdaFunction,
        name: str,
        expression: str,
        description: str,
        max_event_age: Duration,
        retries: int,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        access: ControlPlaneAccess,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = AxonFunction(
            self,
            spec,
            packaging=packaging,
            environment=environment,
            permissions=access.for_function(spec),
            reserved_concurrency=1,
        )
        # Scheduler invokes asynchronously; Lambda's own async retries would replay a stale run.
        self.function.function.configure_async_invoke(retry_attempts=0, max_event_age=max_event_age)
        invoke_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description=f"axon: lets EventBridge Scheduler invoke {spec.function_name}",
        )
        acknowledge(
            invoke_role,
            resource_finding(self, f"{self.function.function_arn}:*"),
            "CDK's invoke grant also covers the function's versions and aliases (<arn>:*); it is this one function.",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=name,
            description=description,
            schedule=scheduler.ScheduleExpression.expression(expression),
            time_window=scheduler.TimeWindow.off(),
            target=scheduler_targets.LambdaInvoke(
                self.function.function,
                dead_letter_queue=dead_letters,
                retry_attempts=retries,
                max_event_age=max_event_age,
                role=invoke_role,
            ),
        )
