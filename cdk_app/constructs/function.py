"""``AxonFunction``: one control-plane Lambda, built the same way for every handler in ``lambdas/``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from axon.functions import LambdaFunction
from axon.names import METRIC_NAMESPACE
from cdk_app.constructs.packaging import ARCHITECTURE, RUNTIME, LambdaPackaging
from cdk_app.nag import Permission, acknowledge, acknowledge_wildcards, skip_scan, wildcard_findings

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Why checkov's generic Lambda findings do not apply to axon's control-plane functions.
SCAN_REASONS = {
    "CKV_AWS_117": "The control plane calls only AWS APIs, never a private network: a VPC would add NAT gateways "
    "and ENI cold starts for no isolation gain.",
    "CKV_AWS_173": "The environment holds only resource names and settings, never secrets; Lambda encrypts it at "
    "rest with its service key.",
}
LOG_SCAN_REASON = (
    "Control-plane logs hold ids, statuses and reason codes, never payloads or secrets; CloudWatch Logs encrypts "
    "them at rest with its service keys, and a customer key would only add a per-region key policy to keep."
)
SYNC_ONLY_REASON = (
    "Invoked synchronously (Step Functions tasks, the CLI): a dead-letter queue applies only to asynchronous "
    "invocations; failures reach the workflow's Retry and Catch instead."
)
UNRESERVED_REASON = (
    "Concurrency is bounded upstream: one rollout execution per API holds the API's lease, and reserving "
    "concurrency per function would take capacity from the account's shared pool."
)


class AxonFunction(Construct):
    """A Lambda named after its module (``validate_bundle`` -> ``ValidateBundle``, ``axon-validate-bundle``).

    Fixed for every function: the runtime and arm64, the shared code asset and layers, Powertools settings,
    active X-Ray tracing, a log group with retention, and a role of its own that starts empty: permissions
    are added with :meth:`allow`, never through managed policies.
    """

    def __init__(
        self,
        scope: Construct,
        spec: LambdaFunction,
        *,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        permissions: Sequence[Permission],
        reserved_concurrency: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, spec.logical_name)
        self.spec = spec
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"axon Lambda {spec.function_name}",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{spec.function_name}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=spec.function_name,
            description=f"axon: {spec.runs}",
            handler=spec.handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=packaging.code,
            layers=packaging.layers,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dead_letter_queue,
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.function_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRIC_NAMESPACE,
                **environment,
            },
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
            "resource-level permissions.",
        )
        self._skip_generic_findings(reserved_concurrency, dead_letter_queue)
        self.allow(*permissions)

    def _skip_generic_findings(self, reserved_concurrency: int | None, dead_letter_queue: sqs.IQueue | None) -> None:
        for check_id, reason in SCAN_REASONS.items():
            skip_scan(self.function, check_id, reason)
        skip_scan(self.log_group, "CKV_AWS_158", LOG_SCAN_REASON)
        if dead_letter_queue is None:
            skip_scan(self.function, "CKV_AWS_116", SYNC_ONLY_REASON)
        if reserved_concurrency is None:
            skip_scan(self.function, "CKV_AWS_115", UNRESERVED_REASON)

    @property
    def function_arn(self) -> str:
        return self.function.function_arn

    def allow(self, *permissions: Permission) -> None:
        """Add statements to this function's role; a wildcard without a stated reason is refused."""
        for permission in permissions:
            if wildcard_findings(self, permission.statement) and not permission.wildcard_reason:
                raise ValueError(f"{self.spec.function_name}: wildcard statement without a reason")
            self.role.add_to_principal_policy(permission.statement)
            if permission.wildcard_reason:
                acknowledge_wildcards(self, permission.statement, permission.wildcard_reason)
