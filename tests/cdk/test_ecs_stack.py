"""The synthesized ``AxonEcs`` template: GPU capacity, the ALB, least-privilege roles, and the SSM config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Aspects, Environment, assertions, cx_api
from cfnlint.api import lint_file  # type: ignore[import-untyped]

from axon.names import ECS_STACK
from axon.platforms.ecs_config import ECS_CONFIG_PARAMETER, EcsConfig
from cdk_app.app import cdk_json_context
from cdk_app.aspects.least_privilege import LeastPrivilege
from cdk_app.nag import add_checks
from cdk_app.stacks.ecs_stack import AxonEcsStack

pytestmark = pytest.mark.xdist_group("cdk")


@dataclass(frozen=True)
class EcsSynth:
    template: assertions.Template
    path: Path
    errors: list[str]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return {k: v for k, v in resources.items() if v["Type"] == cfn_type}


@pytest.fixture(scope="module")
def ecs_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcsSynth]:
    """The stack in an app wired as ``cdk_app.app`` wires AxonCore: cdk-nag and the least-privilege aspect."""
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")), context=cdk_json_context())
    # ALB access logs need the region (older regions deliver from a per-region ELB account).
    AxonEcsStack(app, ECS_STACK, instance_types=("g5.xlarge", "g6.2xlarge"), env=Environment(region="us-east-1"))
    Aspects.of(app).add(LeastPrivilege())
    add_checks(app)
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(ECS_STACK)
    errors = [f"{m.id}: {m.entry.data}" for m in artifact.messages if m.level == cx_api.SynthesisMessageLevel.ERROR]
    path = Path(artifact.template_full_path)
    yield EcsSynth(assertions.Template.from_json(json.loads(path.read_text())), path, errors)


def test_synth_is_clean_of_cdk_nag_and_least_privilege_errors(ecs_synth: EcsSynth) -> None:
    assert ecs_synth.errors == []


def test_cfn_lint_finds_nothing(ecs_synth: EcsSynth) -> None:
    assert [str(m) for m in lint_file(ecs_synth.path) if m.rule.id[0] in "EW" and m.rule.id != "W3005"] == []


def test_one_gpu_capacity_provider_per_instance_type_with_managed_scaling(ecs_synth: EcsSynth) -> None:
    providers = ecs_synth.of_type("AWS::ECS::CapacityProvider")
    assert sorted(p["Properties"]["Name"] for p in providers.values()) == ["axon-g5-xlarge", "axon-g6-2xlarge"]
    for provider in providers.values():
        scaling = provider["Properties"]["AutoScalingGroupProvider"]["ManagedScaling"]
        assert (scaling["Status"], scaling["TargetCapacity"]) == ("ENABLED", 100)
    templates = ecs_synth.of_type("AWS::EC2::LaunchTemplate")
    types = sorted(t["Properties"]["LaunchTemplateData"]["InstanceType"] for t in templates.values())
    assert types == ["g5.xlarge", "g6.2xlarge"]
    for launch in templates.values():
        data = launch["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
        assert "gpu" in json.dumps(data["ImageId"])  # the ECS GPU-optimized AL2023 AMI parameter
    for group in ecs_synth.of_type("AWS::AutoScaling::AutoScalingGroup").values():
        assert group["Properties"]["MinSize"] == "0"


def test_the_config_parameter_names_every_field_the_platform_reads(ecs_synth: EcsSynth) -> None:
    (parameter,) = ecs_synth.of_type("AWS::SSM::Parameter").values()
    assert parameter["Properties"]["Name"] == ECS_CONFIG_PARAMETER
    rendered = json.dumps(parameter["Properties"]["Value"])
    for field in set(EcsConfig.model_fields) - {"placement_timeout_seconds"}:
        assert f'\\"{field}\\"' in rendered, field


def test_tasks_accept_only_the_alb_and_the_listener_defaults_to_404(ecs_synth: EcsSynth) -> None:
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


def test_the_task_role_reads_only_published_bundles(ecs_synth: EcsSynth) -> None:
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
