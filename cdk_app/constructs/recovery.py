"""Recovery: the rule that cleans up after rollout executions that ended unfinished, and the scheduled reconciler.

A timeout or an abort cannot be caught inside the state machine, so its status-change event goes to
``on_execution_end``; whatever that misses (a lost event, an intake that died, a missed S3 event) the reconciler
finds within one period. Both run the workflow's own failure handling, so neither adds a way to change an API.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.functions import EXECUTION_END_FUNCTION, RECONCILER_FUNCTION
from axon.names import EXECUTION_END_RULE, RECONCILER_SCHEDULE, RECONCILER_SCHEDULE_EXPRESSION
from axon.rollout.events import execution_end_pattern
from cdk_app.constructs.event_patterns import event_pattern
from cdk_app.constructs.function import AxonFunction
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess
from cdk_app.constructs.scheduled import ScheduledFunction

# A status event is worth retrying for as long as the lease it frees would otherwise wait for the reconciler.
EXECUTION_END_RETRIES = 4
EXECUTION_END_MAX_AGE = Duration.hours(1)
# A reconcile run that failed is replaced by the next one; one retry covers a cold-start hiccup.
RECONCILE_MAX_AGE = Duration.minutes(5)
RECONCILE_RETRIES = 1


class Recovery(Construct):
    """``on_execution_end`` behind an EventBridge rule; ``reconcile`` on an EventBridge Scheduler schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_arn: str,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        access: ControlPlaneAccess,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.on_execution_end = AxonFunction(
            self,
            EXECUTION_END_FUNCTION,
            packaging=packaging,
            environment=environment,
            permissions=access.for_function(EXECUTION_END_FUNCTION),
            dead_letter_queue=dead_letters,
        )
        self.rule = events.Rule(
            self,
            "ExecutionEnded",
            rule_name=EXECUTION_END_RULE,
            description="axon: a rollout execution that failed, timed out or was aborted is cleaned up",
            event_pattern=event_pattern(execution_end_pattern(state_machine_arn)),
            targets=[
                targets.LambdaFunction(
                    self.on_execution_end.function,
                    dead_letter_queue=dead_letters,
                    retry_attempts=EXECUTION_END_RETRIES,
                    max_event_age=EXECUTION_END_MAX_AGE,
                )
            ],
        )
        self.reconciler = ScheduledFunction(
            self,
            "Reconciler",
            spec=RECONCILER_FUNCTION,
            name=RECONCILER_SCHEDULE,
            expression=RECONCILER_SCHEDULE_EXPRESSION,
            description="axon: restart stranded uploads, free leases of ended executions, register missed uploads",
            max_event_age=RECONCILE_MAX_AGE,
            retries=RECONCILE_RETRIES,
            packaging=packaging,
            environment=environment,
            access=access,
            dead_letters=dead_letters,
        ).function
