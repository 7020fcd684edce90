"""The synthesized ``AxonEcs`` template: GPU capacity (and its opt-in warm pool), the ALB, least-privilege roles,
and the SSM config."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_cdk import App, Aspects, Environment, assertions
from cfnlint.api import lint_file

from axon import names
from axon.names import ECS_STACK
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig
from cdk_app.app import GPU_INSTANCE_TYPES_CONTEXT, REGION_CONTEXT, cdk_json_context, ecs_region, gpu_instance_types
from cdk_app.aspects.least_privilege import LeastPrivilege
from cdk_app.context import ECS_WARM_POOL_SIZE, warm_pool_size
from cdk_app.nag import add_checks
from cdk_app.stacks.ecs_stack import DEFAULT_INSTANCE_TYPES, AxonEcsStack
from tests.cdk.conftest import AppSynth, Synth

pytestmark = pytest.mark.xdist_group("cdk")


def test_the_app_synthesizes_axon_ecs_with_axon_core_in_its_region(app_synth: AppSynth) -> None:
    assert app_synth.ecs.stack.stack_name == ECS_STACK
    assert app_synth.ecs.stack.region == "us-east-1"
    assert app_synth.ecs.template_path.parent == app_synth.core.template_path.parent  # one app, one synth


def test_the_region_comes_from_context_else_the_cli_default_else_us_east_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    assert ecs_region(App()) == "us-east-1"
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    assert ecs_region(App()) == "eu-west-1"
    assert ecs_region(App(context={REGION_CONTEXT: "ap-south-1"})) == "ap-south-1"


def test_gpu_instance_types_come_from_context_as_a_list_or_a_comma_separated_string() -> None:
    assert gpu_instance_types(App()) == DEFAULT_INSTANCE_TYPES
    assert gpu_instance_types(App(context={GPU_INSTANCE_TYPES_CONTEXT: "g5.xlarge, g6.xlarge"})) == (
        "g5.xlarge",
        "g6.xlarge",
    )
    assert gpu_instance_types(App(context={GPU_INSTANCE_TYPES_CONTEXT: ["g6.2xlarge"]})) == ("g6.2xlarge",)
    with pytest.raises(ValueError, match="names no instance type"):
        gpu_instance_types(App(context={GPU_INSTANCE_TYPES_CONTEXT: " , "}))


def test_synth_is_clean_of_cdk_nag_and_least_privilege_errors(ecs_synth: Synth) -> None:
    assert ecs_synth.errors == ()


def test_cfn_lint_finds_nothing(ecs_synth: Synth) -> None:
    assert [str(m) for m in lint_file(ecs_synth.template_path) if m.rule.id[0] in "EW" and m.rule.id != "W3005"] == []


def test_the_names_axon_core_is_granted_by_are_the_names_the_stack_gives(ecs_synth: Synth) -> None:
    """AxonCore's Lambdas may pass only these roles and change only this ALB's rules (test_ecs_permissions.py)."""
    roles = {r["Properties"].get("RoleName") for r in ecs_synth.of_type("AWS::IAM::Role").values()}
    assert {names.ECS_TASK_ROLE, names.ECS_EXECUTION_ROLE} <= roles
    ecs_synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Name": names.ECS_LOAD_BALANCER, "Scheme": "internal"}
    )


def test_one_gpu_capacity_provider_per_instance_type_with_managed_scaling(ecs_synth: Synth) -> None:
    providers = ecs_synth.of_type("AWS::ECS::CapacityProvider")
    assert sorted(p["Properties"]["Name"] for p in providers.values()) == [
        names.capacity_provider_name("g5.xlarge"),
        names.capacity_provider_name("g6.2xlarge"),
    ]
    for provider in providers.values():
        scaling = provider["Properties"]["AutoScalingGroupProvider"]["ManagedScaling"]
        assert (scaling["Status"], scaling["TargetCapacity"]) == ("ENABLED", 100)
    templates = ecs_synth.of_type("AWS::EC2::LaunchTemplate")
    types = sorted(t["Properties"]["LaunchTemplateData"]["InstanceType"] for t in templates.values())
    assert types == ["g5.xlarge", "g6.2xlarge"]
    for launch in templates.values():
        data = launch["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
        assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
        assert "gpu" in json.dumps(data["ImageId"])  # the ECS GPU-optimized AL2023 AMI parameter
    for group in ecs_synth.of_type("AWS::AutoScaling::AutoScalingGroup").values():
        assert group["Properties"]["MinSize"] == "0"


def test_the_config_parameter_names_every_field_the_platform_reads(ecs_synth: Synth) -> None:
    (parameter,) = ecs_synth.of_type("AWS::SSM::Parameter").values()
    assert parameter["Properties"]["Name"] == ECS_CONFIG_PARAMETER
    rendered = json.dumps(parameter["Properties"]["Value"])
    for field in set(EcsConfig.model_fields) - {"placement_timeout_seconds", "auth"}:  # auth: only with a JWT issuer
        assert f'\\"{field}\\"' in rendered, field


def test_tasks_accept_only_the_alb_and_the_listener_defaults_to_404(ecs_synth: Synth) -> None:
    ecs_synth.template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": "axon serving tasks: port 8080 from the ALB only",
            "SecurityGroupIngress": assertions.Match.absent(),
        },
    )
    ecs_synth.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"FromPort": 8080, "ToPort": 8080, "IpProtocol": "tcp"}
    )
    ecs_synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "DefaultActions": [assertions.Match.object_like({"Type": "fixed-response"})]},
    )


def test_the_task_role_reads_only_published_bundles(ecs_synth: Synth) -> None:
    statements = [
        s
        for policy in ecs_synth.of_type("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetObject" in s["Action"]
    ]
    (statement,) = statements
    assert statement["Resource"] == "arn:aws:s3:::axoncore-models*/versions/*"
    (decrypt,) = [
        s
        for policy in ecs_synth.of_type("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt"
    ]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


@pytest.fixture(scope="module")
def warm_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """``AxonEcs`` alone with ``axon:ecsWarmPoolSize`` 2, cdk-nag and the least-privilege aspect on."""
    context = {**cdk_json_context(), GPU_INSTANCE_TYPES_CONTEXT: "g5.xlarge", ECS_WARM_POOL_SIZE: "2"}
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.warm")), context=context)
    stack = AxonEcsStack(app, ECS_STACK, instance_types=("g5.xlarge",), env=Environment(region="us-east-1"))
    Aspects.of(app).add(LeastPrivilege())
    add_checks(app)
    yield Synth.of(app.synth(), stack)


def _user_data(synth: Synth) -> str:
    (launch,) = synth.of_type("AWS::EC2::LaunchTemplate").values()
    return json.dumps(launch["Properties"]["LaunchTemplateData"]["UserData"])


def test_no_warm_pool_by_default(ecs_synth: Synth) -> None:
    assert ecs_synth.of_type("AWS::AutoScaling::WarmPool") == {}
    for launch in ecs_synth.of_type("AWS::EC2::LaunchTemplate").values():
        assert "ECS_WARM_POOLS_CHECK" not in json.dumps(launch["Properties"]["LaunchTemplateData"]["UserData"])


def test_a_warm_pool_of_stopped_instances_when_asked(warm_synth: Synth) -> None:
    (pool,) = warm_synth.of_type("AWS::AutoScaling::WarmPool").values()
    (group_id,) = warm_synth.of_type("AWS::AutoScaling::AutoScalingGroup")
    properties = pool["Properties"]
    assert properties["AutoScalingGroupName"] == {"Ref": group_id}
    # Equal minimum and prepared capacity: an absolute size of 2, whatever the group runs.
    assert (properties["MinSize"], properties["MaxGroupPreparedCapacity"], properties["PoolState"]) == (2, 2, "Stopped")
    assert "InstanceReusePolicy" not in properties  # ECS refuses ReuseOnScaleIn on its groups
    # The agent waits until the instance leaves the pool before registering with the cluster.
    assert "ECS_WARM_POOLS_CHECK=true" in _user_data(warm_synth)
    assert warm_synth.errors == ()  # cdk-nag and the least-privilege aspect


def test_cfn_lint_finds_nothing_with_a_warm_pool(warm_synth: Synth) -> None:
    assert [str(m) for m in lint_file(warm_synth.template_path) if m.rule.id[0] in "EW" and m.rule.id != "W3005"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), ("0", 0), ("3", 3), (4, 4), ("-1", "whole number"), ("two", "whole number"), ("5", "more than")],
)
def test_the_warm_pool_size_comes_from_context(value: object, expected: int | str) -> None:
    app = App(context={} if value is None else {ECS_WARM_POOL_SIZE: value})
    if isinstance(expected, int):
        assert warm_pool_size(app.node, max_instances=4) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            warm_pool_size(app.node, max_instances=4)
