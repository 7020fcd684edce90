"""The version's own role goes into what the platforms create: SageMaker's model and ECS's task definition."""

from __future__ import annotations

from axon import names
from axon.platforms.base import VersionRef
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.sagemaker import specs as sagemaker_specs
from axon.spec import load_spec_text

ROLE = "arn:aws:iam::1:role/axon/api/axon-api-iris"
CONFIG = EcsConfig(
    cluster=names.ECS_CLUSTER,
    listener_arn="arn:aws:elasticloadbalancing:us-east-1:1:listener/app/axon/1/2",
    vpc_id="vpc-1",
    subnets=("subnet-1",),
    security_groups=("sg-1",),
    task_role_arn=f"arn:aws:iam::1:role/{names.ECS_TASK_ROLE}",
    execution_role_arn=f"arn:aws:iam::1:role/{names.ECS_EXECUTION_ROLE}",
    capacity_providers={"g5.xlarge": names.capacity_provider_name("g5.xlarge")},
    url="http://axon-1.elb.amazonaws.com",
)


def version(role_arn: str) -> VersionRef:
    spec = load_spec_text("compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n")
    return VersionRef("iris", "v1", spec, "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", "s3://m/v", role_arn=role_arn)


def test_the_sagemaker_model_runs_as_the_apis_own_role() -> None:
    assert sagemaker_specs.model_request(version(ROLE), "arn:aws:iam::1:role/shared")["ExecutionRoleArn"] == ROLE


def test_the_ecs_task_runs_as_the_apis_own_role_and_the_agent_as_the_execution_role() -> None:
    request = ecs_service.task_definition_request(version(ROLE), CONFIG)
    assert (request["taskRoleArn"], request["executionRoleArn"]) == (ROLE, CONFIG.execution_role_arn)
