"""``AxonCore``: everything axon needs in one account and region, composed from ``cdk_app.constructs``."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon import names, settings
from axon.spec.policy import parse_patterns
from cdk_app.constructs.autoscaler import Autoscaler
from cdk_app.constructs.cli_policy import add_cli_policy
from cdk_app.constructs.notifications import Notifications
from cdk_app.constructs.observability import Observability
from cdk_app.constructs.packaging import LambdaPackaging
from cdk_app.constructs.permissions import ControlPlaneAccess, ControlPlaneResources
from cdk_app.constructs.recovery import Recovery
from cdk_app.constructs.rollout import Rollout, state_machine_arn
from cdk_app.constructs.serving import Serving
from cdk_app.constructs.storage import ModelsStore, Registry
from cdk_app.nag import acknowledge, skip_scan

# Stack outputs the CLI reads with cloudformation:DescribeStacks(StackName="AxonCore"), keyed by the
# settings variable each one fills.
CLI_OUTPUTS = {
    settings.ENV_MODELS_BUCKET: names.OUTPUT_MODELS_BUCKET,
    settings.ENV_REGISTRY_TABLE: names.OUTPUT_REGISTRY_TABLE,
    settings.ENV_STATE_MACHINE_ARN: names.OUTPUT_STATE_MACHINE_ARN,
}
# Optional context: comma-separated instance-type globs each platform admits (default: axon.spec.policy's).
# Keyed by the Settings field each one fills.
INSTANCE_TYPES_CONTEXT = {
    "sagemaker_instance_types": "axon:sagemakerInstanceTypes",
    "ecs_instance_types": "axon:ecsInstanceTypes",
}
# Subscribe to this topic (email, chat, pager) to hear about rollouts and platform alarms.
TOPIC_OUTPUT = "NotificationTopicArn"


class AxonCoreStack(Stack):
    """Models bucket, registry, image builds, rollout workflow, autoscaler, notifications, dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, asl_text: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        models = ModelsStore(self, "Models")
        registry = Registry(self, "Registry")
        dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the upload rule, the intake Lambda and the schedule.",
        )
        skip_scan(
            dead_letters,
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (SSE-SQS); checkov only recognizes a KMS key id, which would "
            "need every sender's key grant for no stronger protection.",
        )
        serving = Serving(self, "Serving", models=models)
        notifications = Notifications(self, "Notifications", dead_letters=dead_letters)
        packaging = LambdaPackaging(self, "Packaging")

        event_bus_arn = self.format_arn(
            service="events",
            resource="event-bus",
            resource_name=names.EVENT_BUS,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        # The deployed resources' names as tokens; every other setting keeps its default unless context sets it.
        defaults = settings.Settings()
        deployed = settings.Settings(
            registry_table=registry.table.table_name,
            models_bucket=models.bucket.bucket_name,
            state_machine_arn=state_machine_arn(self),
            ecr_repository=serving.repository.repository_name,
            codebuild_project=serving.project.project_name,
            api_role_boundary_arn=serving.api_role_boundary.managed_policy_arn,
            event_bus=names.EVENT_BUS,
            alarm_topic_arn=notifications.topic.topic_arn,
            sagemaker_instance_types=self._allowlist("sagemaker_instance_types", defaults.sagemaker_instance_types),
            ecs_instance_types=self._allowlist("ecs_instance_types", defaults.ecs_instance_types),
        )
        environment = deployed.to_env()
        access = ControlPlaneAccess(
            self,
            ControlPlaneResources(
                bucket=models.bucket,
                data_key=models.key,
                table=registry.table,
                repository=serving.repository,
                project=serving.project,
                api_role_boundary=serving.api_role_boundary,
                state_machine_arn=state_machine_arn(self),
                event_bus_arn=event_bus_arn,
            ),
        )
        rollout = Rollout(
            self,
            "Rollout",
            asl_text=asl_text,
            bucket=models.bucket,
            packaging=packaging,
            environment=environment,
            access=access,
            dead_letters=dead_letters,
        )
        autoscaler = Autoscaler(
            self, "Autoscaler", packaging=packaging, environment=environment, access=access, dead_letters=dead_letters
        )
        recovery = Recovery(
            self,
            "Recovery",
            state_machine_arn=state_machine_arn(self),
            packaging=packaging,
            environment=environment,
            access=access,
            dead_letters=dead_letters,
        )
        Observability(
            self,
            "Observability",
            state_machine=rollout.state_machine,
            functions=[
                *rollout.steps,
                rollout.intake,
                autoscaler.function,
                recovery.on_execution_end,
                recovery.reconciler,
            ],
            autoscaler=autoscaler.function,
            dead_letters=dead_letters,
            topic=notifications.topic,
        )
        for variable, output in CLI_OUTPUTS.items():
            CfnOutput(self, output, value=environment[variable], description=f"axon setting {variable}")
        CfnOutput(
            self, TOPIC_OUTPUT, value=notifications.topic.topic_arn, description="rollout and alarm notifications"
        )
        cli_policy = add_cli_policy(self, models)
        CfnOutput(
            self,
            names.OUTPUT_CLI_POLICY_ARN,
            value=cli_policy.managed_policy_arn,
            description="what the axon CLI needs: attach this managed policy to the users, roles or groups that run it",
        )

    def _allowlist(self, field: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """An instance-type allowlist from the optional context (comma-separated globs), else the default."""
        allowed = self.node.try_get_context(INSTANCE_TYPES_CONTEXT[field])
        return parse_patterns(str(allowed)) if allowed else default
