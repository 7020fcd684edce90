"""The synthesized ``AxonEcs`` template: GPU capacity, the ALB, least-privilege roles, and the SSM config."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, assertions
from cfnlint.api import lint_file

from axon import names
from axon.names import ECS_STACK
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig
from cdk_app.app import GPU_INSTANCE_TYPES_CONTEXT, REGION_CONTEXT, ecs_region, gpu_instance_types
from cdk_app.stacks.ecs_stack import DEFAULT_INSTANCE_TYPES
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
