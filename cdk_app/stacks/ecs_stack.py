"""``AxonEcs``: the shared ECS infrastructure GPU APIs run on, published to the control plane through SSM.

The stack creates what every ECS API shares: a VPC (or uses an imported one), the cluster, one GPU Auto Scaling
group and capacity provider per instance type (with an opt-in warm pool of stopped instances), the ALB and its listeners (:mod:`cdk_app.stacks.ecs_front_door`:
internal by default, HTTPS with a certificate from context), security groups, the task and execution roles, and
the smoke-test Lambda in the VPC (:mod:`cdk_app.stacks.ecs_smoke`). Per-version resources (services, target groups, listener rules) are created at run time
by ``axon.platforms.ecs``. The stack writes ``/axon/ecs/config`` (``axon.platforms.ecs.config.EcsConfig``), so
``AxonCore`` needs no reference to it and deploys the same with or without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from axon import names
from axon.platforms.api_roles import ECS_TASKS_PRINCIPAL
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig
from axon.platforms.ecs.service import CONTAINER_PORT
from cdk_app.context import FrontDoorSettings, front_door_settings, warm_pool_size
from cdk_app.nag import acknowledge, acknowledge_wildcards, skip_scan
from cdk_app.stacks.ecs_front_door import build_front_door
from cdk_app.stacks.ecs_smoke import build_smoke_function

DEFAULT_INSTANCE_TYPES = ("g5.xlarge",)
VPC_CIDR = "10.0.0.0/16"  # CDK's default range for a new VPC, spelled out: the internal ALB admits it
# GPU AMI + serving image + extracted bundle + the instance's image cache: 30 GB is the AMI's own minimum.
ROOT_VOLUME_GIB = 100
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# AxonCore's models bucket gets a CloudFormation-generated name, "<stack>-<logical id>-<suffix>", lowercased;
# the task role reads published bundles there (``versions/<api>/<label>/bundle.tar.gz``) without a cross-stack
# reference.
MODELS_BUCKET_PATTERN = f"{names.CORE_STACK.lower()}-models*"


class AxonEcsStack(Stack):
    """Cluster, GPU capacity, load balancer, roles and the ``/axon/ecs/config`` parameter."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_types: Sequence[str] = DEFAULT_INSTANCE_TYPES,
        max_instances_per_type: int = 4,
        vpc: ec2.IVpc | None = None,
        front_door: FrontDoorSettings | None = None,
        warm_instances: int | None = None,
        **kwargs: Any,
    ) -> None:
        """``front_door``: how clients reach the APIs; by default read from context (``axon:certificateArn``...).
        ``warm_instances``: stopped instances per instance type in a warm pool; by default ``axon:ecsWarmPoolSize``.
        """
        super().__init__(scope, construct_id, **kwargs)
        settings = front_door or front_door_settings(self.node)
        self.warm_instances = (
            warm_pool_size(self.node, max_instances_per_type) if warm_instances is None else warm_instances
        )
        self.vpc = vpc or self._vpc()
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=names.ECS_CLUSTER,
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        door = build_front_door(self, self.vpc, VPC_CIDR if vpc is None else self.vpc.vpc_cidr_block, settings)
        self.alb_security_group, self.load_balancer, self.listener = (
            door.security_group,
            door.load_balancer,
            door.listener,
        )
        self.task_security_group = ec2.SecurityGroup(
            self, "TaskSecurityGroup", vpc=self.vpc, description="axon serving tasks: port 8080 from the ALB only"
        )
        self.task_security_group.add_ingress_rule(
            self.alb_security_group, ec2.Port.tcp(CONTAINER_PORT), "ALB to the serving runtime"
        )
        self.task_role, self.execution_role = self._task_roles()
        self.smoke_function = build_smoke_function(self, self.vpc, door, settings)
        providers = {t: self._capacity(t, max_instances_per_type) for t in instance_types}
        ecs.CfnClusterCapacityProviderAssociations(
            self,
            "CapacityProviders",
            cluster=self.cluster.cluster_name,
            capacity_providers=[p.ref for p in providers.values()],
            default_capacity_provider_strategy=[
                ecs.CfnClusterCapacityProviderAssociations.CapacityProviderStrategyProperty(
                    capacity_provider=providers[instance_types[0]].ref, weight=1
                )
            ],
        )
        config = {
            "cluster": self.cluster.cluster_name,
            "listener_arn": self.listener.listener_arn,
            "vpc_id": self.vpc.vpc_id,
            "subnets": [s.subnet_id for s in self.vpc.private_subnets],
            "security_groups": [self.task_security_group.security_group_id],
            "task_role_arn": self.task_role.role_arn,
            "execution_role_arn": self.execution_role.role_arn,
            "capacity_providers": {t: p.ref for t, p in providers.items()},
            "url": door.url,
            "internal": settings.is_internal,
            "smoke_function": self.smoke_function.function_name,
        }
        if settings.auth is not None:
            config["auth"] = settings.auth.model_dump(mode="json")
        missing = set(EcsConfig.model_fields) - set(config) - {"placement_timeout_seconds", "auth"}
        if missing:  # the parameter must parse as EcsConfig in the Lambdas
            raise ValueError(f"the ECS config misses {sorted(missing)}")
        self.parameter = ssm.StringParameter(
            self,
            "Config",
            parameter_name=ECS_CONFIG_PARAMETER,
            description="axon: where ECS APIs run (read by the AxonCore Lambdas)",
            string_value=self.to_json_string(config),
        )
        CfnOutput(self, "Url", value=door.url, description="Base URL of the ECS APIs: <url>/apis/<api>/invocations")

    def _vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(self, "Vpc", ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR), max_azs=2, nat_gateways=1)
        flow_logs = logs.LogGroup(self, "FlowLogGroup", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        skip_scan(
            flow_logs,
            "CKV_AWS_158",
            "Flow logs are connection metadata (addresses, ports, bytes), never payloads or secrets; CloudWatch Logs "
            "encrypts them at rest with its service keys.",
        )
        vpc.add_flow_log("FlowLogs", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        self._skip_cdk_handler_findings()
        return vpc

    def _skip_cdk_handler_findings(self) -> None:
        """CDK's own handler that strips the default security group's rules (``restrictDefaultSecurityGroup``)."""
        reasons = {
            "CKV_AWS_115": "CDK's deploy-time handler: CloudFormation calls it once per VPC change, synchronously.",
            "CKV_AWS_116": "CDK's deploy-time handler is invoked synchronously by CloudFormation, which reports its "
            "failures; a dead-letter queue applies only to asynchronous invocations.",
            "CKV_AWS_117": "CDK's deploy-time handler calls only EC2 APIs to strip the default security group; it "
            "needs no VPC and reaches nothing inside one.",
        }
        handlers = [
            child
            for child in self.node.find_all()
            if isinstance(child, CfnResource)
            and child.cfn_resource_type == "AWS::Lambda::Function"
            and "VpcRestrictDefaultSG" in child.node.path
        ]
        for handler in handlers:
            for check_id, reason in reasons.items():
                skip_scan(handler, check_id, reason)

    def _task_roles(self) -> tuple[iam.Role, iam.Role]:
        principal = iam.ServicePrincipal(ECS_TASKS_PRINCIPAL)
        task = iam.Role(
            self,
            "TaskRole",
            role_name=names.ECS_TASK_ROLE,
            assumed_by=principal,
            description="axon serving container: reads bundles",
        )
        read = iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"arn:{self.partition}:s3:::{MODELS_BUCKET_PATTERN}/{names.VERSIONS_PREFIX}*"],
        )
        decrypt = iam.PolicyStatement(
            actions=["kms:Decrypt"],
            resources=[self.format_arn(service="kms", resource="key", resource_name="*")],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
        )
        for statement, reason in (
            (
                read,
                "Bundles are published under versions/ of AxonCore's models bucket, whose generated name is "
                "only known after AxonCore deploys; read-only, versions/ prefix only.",
            ),
            (decrypt, "The models bucket's KMS key lives in AxonCore; Decrypt is allowed only through S3."),
        ):
            task.add_to_policy(statement)
            acknowledge_wildcards(task, statement, reason)
        execution = iam.Role(
            self,
            "ExecutionRole",
            role_name=names.ECS_EXECUTION_ROLE,
            assumed_by=principal,
            description="ECS agent: image and logs",
        )
        ecr.Repository.from_repository_name(self, "Images", names.ECR_REPOSITORY).grant_pull(execution)
        acknowledge(
            execution,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken supports no resource-level permissions; pulls are limited to axon-serving.",
        )
        logs_statement = iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[
                self.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{names.log_group('*')}:*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        execution.add_to_policy(logs_statement)
        acknowledge_wildcards(
            execution,
            logs_statement,
            "Each API logs to its own group, named per API at run time (axon.names.log_group).",
        )
        return task, execution

    def _warm_pool(self, group: autoscaling.AutoScalingGroup) -> None:
        """A fixed number of stopped instances beside the group: a scale-out starts one (boot from its initialized
        volume) instead of launching one, so ECS waits for a task start and an image pull, not a first boot.

        Equal ``min_size`` and ``max_group_prepared_capacity`` make the pool's size absolute (otherwise it is the
        group's maximum minus its desired count). Stopped instances bill only their EBS volume. Instances are not
        returned to the pool on scale-in: ECS does not allow ``ReuseOnScaleIn`` for its groups; the pool refills
        with fresh instances instead.
        """
        group.add_warm_pool(
            min_size=self.warm_instances,
            max_group_prepared_capacity=self.warm_instances,
            pool_state=autoscaling.PoolState.STOPPED,
        )

    def _capacity(self, instance_type: str, max_instances: int) -> ecs.CfnCapacityProvider:
        """One GPU Auto Scaling group per instance type; ECS managed scaling grows it when tasks cannot be placed."""
        suffix = instance_type.replace(".", "").title()
        role = iam.Role(
            self,
            f"InstanceRole{suffix}",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonEC2ContainerServiceforEC2Role")
            ],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonEC2ContainerServiceforEC2Role]",
            "AWS's policy for the ECS agent on container instances; it changes with the agent.",
        )
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            f"echo ECS_CLUSTER={names.ECS_CLUSTER} >> /etc/ecs/ecs.config",
            "echo ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config",
            # Tasks are awsvpc: this keeps them off IMDS, so user code cannot take the instance role's credentials
            # (tasks get their own role from the agent's credentials endpoint, 169.254.170.2).
            "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config",
        )
        if self.warm_instances:
            # The agent must not register an instance that is only being warmed (it would take tasks, then stop):
            # with this it waits for the instance to leave the warm pool (ECS's documented requirement).
            user_data.add_commands("echo ECS_WARM_POOLS_CHECK=true >> /etc/ecs/ecs.config")
        template = ec2.LaunchTemplate(
            self,
            f"LaunchTemplate{suffix}",
            instance_type=ec2.InstanceType(instance_type),
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.GPU),
            role=role,
            user_data=user_data,
            security_group=self.task_security_group,
            require_imdsv2=True,
            http_put_response_hop_limit=1,  # no IMDSv2 token for anything behind a NAT hop (bridge containers)
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        ROOT_VOLUME_GIB, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )
        group = autoscaling.AutoScalingGroup(
            self,
            f"Gpu{suffix}",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template=template,
            min_capacity=0,
            max_capacity=max_instances,
        )
        acknowledge(
            group,
            "AwsSolutions-AS3",
            "ECS managed scaling drives this group; scaling activity shows in the cluster's capacity provider.",
        )
        if self.warm_instances:
            self._warm_pool(group)
        return ecs.CfnCapacityProvider(
            self,
            f"Provider{suffix}",
            name=names.capacity_provider_name(instance_type),
            auto_scaling_group_provider=ecs.CfnCapacityProvider.AutoScalingGroupProviderProperty(
                auto_scaling_group_arn=group.auto_scaling_group_name,
                managed_scaling=ecs.CfnCapacityProvider.ManagedScalingProperty(
                    status="ENABLED", target_capacity=100, maximum_scaling_step_size=max_instances
                ),
                managed_termination_protection="DISABLED",
            ),
        )
