"""``axon-ecs-smoke`` in ``AxonEcs``: the Lambda in the VPC that sends the rollout's smoke request to the ALB.

AxonCore's Lambdas run outside any VPC, and the ALB is internal by default (or admits a few networks), so they
invoke this function instead (``axon.platforms.ecs.smoke``). It sits in the private subnets with a security group
the ALB admits, calls only the stack's own front-door URL, and may do nothing in AWS but log and manage its
network interfaces (inline statements, not ``AWSLambdaVPCAccessExecutionRole``).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from axon import names
from axon.platforms.ecs import smoke as ecs_smoke
from cdk_app.constructs.packaging import ARCHITECTURE, RUNTIME, LambdaPackaging
from cdk_app.context import FrontDoorSettings
from cdk_app.nag import acknowledge, acknowledge_wildcards, skip_scan
from cdk_app.stacks.ecs_front_door import FrontDoor

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
SCAN_REASONS = {
    "CKV_AWS_115": "Invoked only by the rollout's VerifyVersion step, one smoke request per rollout and API; "
    "reserving concurrency would take capacity from the account's shared pool for no protection.",
    "CKV_AWS_116": "Invoked synchronously (RequestResponse) by the control plane, never asynchronously: a "
    "dead-letter queue applies only to asynchronous invocations.",
    "CKV_AWS_173": "The environment holds only the ALB's base URL, never a secret; Lambda encrypts it at rest "
    "with its service key.",
}
LOG_SCAN_REASON = (
    "The smoke function logs paths, statuses and timings, never payloads or the test rule's secret; CloudWatch Logs "
    "encrypts them at rest with its service keys."
)


def build_smoke_function(stack: Stack, vpc: ec2.IVpc, door: FrontDoor, settings: FrontDoorSettings) -> lambda_.Function:
    """The function, its security group (admitted by the ALB's on the listener port) and its role."""
    port = ec2.Port.tcp(443 if settings.https else 80)
    group = ec2.SecurityGroup(
        stack,
        "SmokeSecurityGroup",
        vpc=vpc,
        allow_all_outbound=False,
        description="axon smoke-test Lambda: to the ALB listener only",
    )
    if settings.is_internal:  # private addresses in the VPC: the ALB's group can name this one
        group.add_egress_rule(door.security_group, port, "smoke request to the internal ALB")
    else:  # an internet-facing ALB is reached through the NAT gateway, at its public address
        group.add_egress_rule(ec2.Peer.any_ipv4(), port, "smoke request to the internet-facing ALB")
    door.security_group.add_ingress_rule(group, port, "the smoke-test Lambda")
    log_group = logs.LogGroup(
        stack,
        "SmokeLogs",
        log_group_name=f"/aws/lambda/{names.ECS_SMOKE_FUNCTION}",
        retention=LOG_RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        stack,
        "SmokeRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"axon Lambda {names.ECS_SMOKE_FUNCTION}: logs and its VPC network interfaces only",
    )
    for statement, reason in _statements(stack, vpc, group, log_group):
        role.add_to_policy(statement)
        if reason:
            acknowledge_wildcards(role, statement, reason)
    packaging = LambdaPackaging(stack, "SmokePackaging")
    function = lambda_.Function(
        stack,
        "Smoke",
        function_name=names.ECS_SMOKE_FUNCTION,
        description=f"axon: lambdas/{names.ECS_SMOKE_MODULE}.py (smoke tests from inside the VPC)",
        handler=f"lambdas.{names.ECS_SMOKE_MODULE}.handler",
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        code=packaging.code,
        layers=packaging.layers,
        memory_size=256,
        timeout=Duration.seconds(ecs_smoke.FUNCTION_TIMEOUT_SECONDS),
        role=role,
        log_group=log_group,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[group],
        environment={"POWERTOOLS_SERVICE_NAME": names.ECS_SMOKE_FUNCTION, names.ECS_SMOKE_TARGET_ENV: door.url},
    )
    function.node.add_dependency(role)  # the ENI permissions exist before Lambda creates the interfaces
    for check_id, reason in SCAN_REASONS.items():
        skip_scan(function, check_id, reason)
    skip_scan(log_group, "CKV_AWS_158", LOG_SCAN_REASON)
    acknowledge(
        function,
        "AwsSolutions-L1",
        "The runtime is axon's one Lambda runtime (cdk_app.constructs.packaging.RUNTIME), shared by every function.",
    )
    return function


def _statements(
    stack: Stack, vpc: ec2.IVpc, group: ec2.SecurityGroup, log_group: logs.LogGroup
) -> list[tuple[iam.PolicyStatement, str | None]]:
    def ec2_arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name=name)

    interfaces = ec2_arn("network-interface", "*")
    subnets = [ec2_arn("subnet", s.subnet_id) for s in vpc.private_subnets]
    write_logs = iam.PolicyStatement(
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"{log_group.log_group_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        ],
    )
    create = iam.PolicyStatement(
        actions=["ec2:CreateNetworkInterface"],
        resources=[interfaces, *subnets, ec2_arn("security-group", group.security_group_id)],
    )
    manage = iam.PolicyStatement(
        actions=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        resources=[interfaces],
    )
    describe = iam.PolicyStatement(actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources=["*"])
    eni = (
        "Lambda creates the function's network interfaces in the private subnets at run time, with generated ids; "
        "only in this account and region, only with the function's own security group and subnets."
    )
    return [
        (write_logs, "Log streams are created by Lambda per execution environment in the function's own group."),
        (create, eni),
        (manage, eni),
        (describe, "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions."),
    ]
