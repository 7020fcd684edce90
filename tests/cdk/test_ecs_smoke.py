"""``axon-ecs-smoke`` in the synthesized ``AxonEcs``: in the private subnets, admitted by the ALB on its listener
port only, aimed at the stack's own URL, and allowed nothing in AWS but its logs and network interfaces."""

from __future__ import annotations

from typing import Any

from axon import names
from tests.cdk.conftest import Synth


def _function(synth: Synth) -> tuple[str, dict[str, Any]]:
    logical_id = synth.function_id(names.ECS_SMOKE_FUNCTION)
    return logical_id, synth.resources[logical_id]["Properties"]


def test_the_smoke_function_runs_in_the_private_subnets_aimed_at_the_alb(ecs_synth: Synth) -> None:
    _, function = _function(ecs_synth)
    subnets = {s["Ref"] for s in function["VpcConfig"]["SubnetIds"]}
    private = {k for k, v in ecs_synth.of_type("AWS::EC2::Subnet").items() if "PrivateSubnet" in k}
    assert subnets == private and private
    assert function["Handler"] == f"lambdas.{names.ECS_SMOKE_MODULE}.handler"
    outputs = ecs_synth.template.to_json()["Outputs"]
    assert function["Environment"]["Variables"][names.ECS_SMOKE_TARGET_ENV] == outputs["Url"]["Value"]
    assert function["Timeout"] <= 100


def test_the_alb_admits_the_smoke_function_and_it_reaches_only_the_alb(ecs_synth: Synth) -> None:
    _, function = _function(ecs_synth)
    (group,) = [g["Fn::GetAtt"][0] for g in function["VpcConfig"]["SecurityGroupIds"]]
    (alb_group,) = [k for k in ecs_synth.of_type("AWS::EC2::SecurityGroup") if k.startswith("AlbSecurityGroup")]
    ingress = [r["Properties"] for r in ecs_synth.of_type("AWS::EC2::SecurityGroupIngress").values()]
    assert any(
        r["GroupId"]["Fn::GetAtt"][0] == alb_group
        and r["SourceSecurityGroupId"]["Fn::GetAtt"][0] == group
        and (r["FromPort"], r["ToPort"]) == (80, 80)
        for r in ingress
    )
    egress = [r["Properties"] for r in ecs_synth.of_type("AWS::EC2::SecurityGroupEgress").values()]
    mine = [r for r in egress if r["GroupId"]["Fn::GetAtt"][0] == group]
    assert [(r["DestinationSecurityGroupId"]["Fn::GetAtt"][0], r["FromPort"]) for r in mine] == [(alb_group, 80)]
    inline = ecs_synth.resources[group]["Properties"].get("SecurityGroupEgress", [])
    assert all(rule.get("CidrIp") != "0.0.0.0/0" or rule.get("IpProtocol") == "icmp" for rule in inline)


def test_the_smoke_function_may_only_log_and_manage_its_interfaces(ecs_synth: Synth) -> None:
    _, function = _function(ecs_synth)
    role = function["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in ecs_synth.resources[role]["Properties"]
    actions = set()
    for policy in ecs_synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                actions |= set(found if isinstance(found, list) else [found])
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
    }


def test_the_ecs_config_names_the_smoke_function(ecs_synth: Synth) -> None:
    (parameter,) = ecs_synth.of_type("AWS::SSM::Parameter").values()
    assert "smoke_function" in str(parameter["Properties"]["Value"])
