"""The rollout workflow: the upload intake, the state machine from ``statemachines/rollout.asl.json`` and its steps."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from axon.functions import INTAKE_FUNCTION, WORKFLOW_FUNCTIONS
from axon.names import STATE_MACHINE, UPLOAD_RULE
from axon.rollout.events import upload_event_pattern
from cdk_app.constructs.event_patterns import event_pattern
from cdk_app.constructs.function import LOG_RETENTION, AxonFunction
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess
from cdk_app.nag import acknowledge, skip_scan

# An upload event the intake could not take is retried for this long, then kept in the dead-letter queue.
INTAKE_RETRY_ATTEMPTS = 8
INTAKE_MAX_EVENT_AGE = Duration.hours(2)


def state_machine_arn(scope: Construct) -> str:
    """The rollout state machine's ARN, built from its fixed name.

    Steps that start the next queued rollout need it, and the state machine needs their ARNs: naming it
    breaks that cycle.
    """
    return Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=STATE_MACHINE,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class Rollout(Construct):
    """Upload -> EventBridge rule -> ``on_upload`` -> Step Functions (one Lambda per state)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        asl_text: str,
        bucket: s3.IBucket,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        access: ControlPlaneAccess,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.steps = [
            AxonFunction(
                self,
                spec,
                packaging=packaging,
                environment=environment,
                permissions=access.for_function(spec),
            )
            for spec in WORKFLOW_FUNCTIONS
        ]
        self.intake = AxonFunction(
            self,
            INTAKE_FUNCTION,
            packaging=packaging,
            environment=environment,
            permissions=access.for_function(INTAKE_FUNCTION),
            dead_letter_queue=dead_letters,
        )
        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{STATE_MACHINE}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip_scan(
            self.log_group,
            "CKV_AWS_158",
            "Execution data is the workflow's state: API names, versions, S3 keys, statuses and reason codes, "
            "never request payloads or secrets; CloudWatch Logs encrypts it at rest with its service keys.",
        )
        # The ASL goes in unchanged; CloudFormation substitutes each ${<Step>FunctionArn}.
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=STATE_MACHINE,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(asl_text),
            definition_substitutions={step.spec.placeholder: step.function_arn for step in self.steps},
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[s.function_arn for s in self.steps])
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5[Resource::*]",
            "Execution logging (logs:CreateLogDelivery and the other vended-log delivery actions) and X-Ray "
            "tracing support no resource-level permissions; AWS requires '*'.",
        )
        self.rule = events.Rule(
            self,
            "Uploads",
            rule_name=UPLOAD_RULE,
            description="axon: a bundle uploaded under apis/<api>/ starts its rollout",
            event_pattern=event_pattern(upload_event_pattern(bucket.bucket_name)),
            targets=[
                targets.LambdaFunction(
                    self.intake.function,
                    dead_letter_queue=dead_letters,
                    retry_attempts=INTAKE_RETRY_ATTEMPTS,
                    max_event_age=INTAKE_MAX_EVENT_AGE,
                )
            ],
        )
