"""The local counterpart of the ``AxonEcs`` stack: the shared ECS infrastructure, created in moto at ``axon local up``.

``cdk_app/stacks/ecs_stack.py`` creates a VPC, one Auto Scaling group and capacity provider per instance type, the
cluster, an ALB whose listener answers 404 by default, the task and execution roles, and writes
``/axon/ecs/config``. :func:`provision_ecs` creates the same resources, with the same names, through the same
public APIs, so ``compute.platform: ecs`` APIs roll out locally through the unchanged ``axon.platforms.ecs``. The
one local difference is the config's ``url``: it is the local front door, which plays the ALB's data plane
(:mod:`axon_local.ecs.alb`). The smoke-test function ``axon-ecs-smoke`` is created as AxonEcs creates it
(:func:`create_smoke_function`), aimed at that URL, so the platform's smoke test takes the path it takes on AWS.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from axon import names
from axon.platforms.api_roles import ECS_TASKS_PRINCIPAL
from axon.platforms.ecs import smoke as ecs_smoke
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig

# GPU types (the ECS GPU-optimized AMI's families) and CPU types for models that need no GPU; every one gets a
# capacity provider, so `compute.instance_type` can name any of them locally (each replica runs on this CPU).
INSTANCE_TYPES = (
    "g5.xlarge",
    "g5.2xlarge",
    "g5.12xlarge",
    "g6.xlarge",
    "g6.2xlarge",
    "g6.12xlarge",
    "c6i.xlarge",
    "c6i.2xlarge",
    "m6i.xlarge",
)
VPC_CIDR = "10.0.0.0/16"
SUBNETS = (("a", "10.0.1.0/24"), ("b", "10.0.2.0/24"))  # two zones: an ALB needs subnets in at least two
MAX_INSTANCES_PER_TYPE = 4  # AxonEcs's default max_instances_per_type
_AMI = "ami-0123456789abcdef0"  # recorded in the launch template; no instance is ever launched locally
SMOKE_HANDLER = f"lambdas.{names.ECS_SMOKE_MODULE}.handler"
_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ECS_TASKS_PRINCIPAL}, "Action": "sts:AssumeRole"}],
}


def task_addresses() -> Iterator[str]:
    """Private addresses in the tasks' subnets, as awsvpc gives each task an ENI of its own (target IDs)."""
    for host in range(4, 255):  # AWS reserves the first four addresses and the last of every subnet
        for _, cidr in SUBNETS:
            yield cidr.rsplit(".", 1)[0] + f".{host}"


def provision_ecs(
    client: Callable[[str], Any],
    url: str,
    region: str,
    *,
    instance_types: Sequence[str] = INSTANCE_TYPES,
    placement_timeout_seconds: int = EcsConfig.model_fields["placement_timeout_seconds"].default,
) -> EcsConfig:
    """Create the AxonEcs resources in the local account and write ``/axon/ecs/config`` pointing at ``url``;
    ``instance_types`` and ``placement_timeout_seconds`` are the stack's parameters of those names."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
        for zone, cidr in SUBNETS
    ]
    alb_group = ec2.create_security_group(GroupName=names.ECS_ALB_SECURITY_GROUP, Description="axon ALB", VpcId=vpc)[
        "GroupId"
    ]
    task_group = ec2.create_security_group(
        GroupName=names.ECS_TASK_SECURITY_GROUP, Description="axon tasks", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=task_group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb_group}]}
        ],
    )
    elbv2 = client("elbv2")
    balancer = elbv2.create_load_balancer(
        Name=names.ECS_LOAD_BALANCER,
        Subnets=subnets,
        SecurityGroups=[alb_group],
        Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not Found"},
            }
        ],
    )["Listeners"][0]
    iam = client("iam")
    task_role, execution_role = (
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_ASSUME))["Role"]["Arn"]
        for name in (names.ECS_TASK_ROLE, names.ECS_EXECUTION_ROLE)
    )
    ecs = client("ecs")
    ecs.create_cluster(clusterName=names.ECS_CLUSTER, settings=[{"name": "containerInsights", "value": "enabled"}])
    providers = _capacity_providers(client, subnets, instance_types)
    ecs.put_cluster_capacity_providers(
        cluster=names.ECS_CLUSTER,
        capacityProviders=list(providers.values()),
        defaultCapacityProviderStrategy=[{"capacityProvider": providers[instance_types[0]], "weight": 1}],
    )
    create_smoke_function(client, url)
    config = EcsConfig(
        cluster=names.ECS_CLUSTER,
        listener_arn=listener["ListenerArn"],
        vpc_id=vpc,
        subnets=tuple(subnets),
        security_groups=(task_group,),
        task_role_arn=task_role,
        execution_role_arn=execution_role,
        capacity_providers=providers,
        url=url,
        smoke_function=names.ECS_SMOKE_FUNCTION,
        placement_timeout_seconds=placement_timeout_seconds,
    )
    client("ssm").put_parameter(
        Name=ECS_CONFIG_PARAMETER,
        Type="String",
        Value=config.model_dump_json(),
        Description="axon: where ECS APIs run (read by the AxonCore Lambdas)",
    )
    return config


def create_smoke_function(client: Callable[[str], Any], url: str) -> str:
    """``axon-ecs-smoke`` aimed at ``url`` (the ALB's data plane), with a role of its own; returns its ARN. Its
    code runs in-process from this checkout (``axon_local.patches.lambda_runtime``): the zip is a placeholder."""
    assume = json.dumps(_ASSUME).replace(ECS_TASKS_PRINCIPAL, "lambda.amazonaws.com")
    role = client("iam").create_role(RoleName=names.ECS_SMOKE_FUNCTION, AssumeRolePolicyDocument=assume)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("README.txt", "axon local: the handler runs in-process from the installed package")
    created = client("lambda").create_function(
        FunctionName=names.ECS_SMOKE_FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler=SMOKE_HANDLER,
        Code={"ZipFile": archive.getvalue()},
        Timeout=ecs_smoke.FUNCTION_TIMEOUT_SECONDS,
        MemorySize=256,
        Environment={"Variables": {names.ECS_SMOKE_TARGET_ENV: url}},
    )
    return str(created["FunctionArn"])


def _capacity_providers(
    client: Callable[[str], Any], subnets: list[str], instance_types: Sequence[str]
) -> dict[str, str]:
    """One launch template, Auto Scaling group (min 0) and managed-scaling capacity provider per instance type."""
    ec2, autoscaling, ecs = client("ec2"), client("autoscaling"), client("ecs")
    providers: dict[str, str] = {}
    for instance_type in instance_types:
        name = names.capacity_provider_name(instance_type)
        ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData={
                "ImageId": _AMI,
                "InstanceType": instance_type,
                "MetadataOptions": {"HttpTokens": "required"},
            },
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": name, "Version": "$Latest"},
            MinSize=0,
            MaxSize=MAX_INSTANCES_PER_TYPE,
            DesiredCapacity=0,
            VPCZoneIdentifier=",".join(subnets),
        )
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        ecs.create_capacity_provider(
            name=name,
            autoScalingGroupProvider={
                "autoScalingGroupArn": group["AutoScalingGroupARN"],
                "managedScaling": {
                    "status": "ENABLED",
                    "targetCapacity": 100,
                    "maximumScalingStepSize": MAX_INSTANCES_PER_TYPE,
                },
                "managedTerminationProtection": "DISABLED",
            },
        )
        providers[instance_type] = name
    return providers
