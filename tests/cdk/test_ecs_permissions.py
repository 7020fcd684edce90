"""What AxonCore's Lambdas may do to the ECS platform (``compute.platform: ecs``): every call, and no more.

The statements are scoped by the fixed names of ``AxonEcs`` (cluster ``axon``, load balancer ``axon``, roles
``axon-ecs-task``/``axon-ecs-execution``) and the run-time names of ``axon.platforms.ecs``; ``Resource: "*"``
only for the actions the least-privilege aspect allows it for (no resource-level permissions in AWS).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from axon import names
from axon.functions import ALL_FUNCTIONS, AUTOSCALER_FUNCTION
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from cdk_app.aspects.least_privilege import RESOURCE_STAR_ACTIONS
from cdk_app.constructs.ecs_permissions import TARGET_GROUP_PATTERN
from tests.cdk.conftest import Synth
from tests.cdk.test_core_stack import ROLLOUT_MODULES, flat, function_statements

pytestmark = pytest.mark.xdist_group("cdk")

PLATFORM_SOURCES = ("platform.py", "listener.py", "service.py", "async_rollout.py", "queue.py")
CLIENT_PREFIXES = {"ecs": "ecs", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch", "sqs": "sqs"}
# ``delete_api`` runs in the CLI (``axon delete``) with the operator's credentials, never in a Lambda.
CLI_ONLY = {"ecs:ListServices", "ecs:ListTaskDefinitionFamilies", "sqs:DeleteQueue"}
ECS_SERVICES = ("ecs:", "elasticloadbalancing:", "ssm:", "lambda:", "sqs:")


def arn(service: str, resource: str) -> str:
    return f"arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"


SERVICES = arn("ecs", f"service/{names.ECS_CLUSTER}/axon-*")
FAMILIES = arn("ecs", "task-definition/axon-*")
TARGET_GROUPS = arn("elasticloadbalancing", f"targetgroup/{TARGET_GROUP_PATTERN}/*")
LISTENERS = arn("elasticloadbalancing", f"listener/app/{names.ECS_LOAD_BALANCER}/*")
RULES = arn("elasticloadbalancing", f"listener-rule/app/{names.ECS_LOAD_BALANCER}/*")
CONFIG = arn("ssm", "parameter/axon/ecs/config")
ALARMS = arn("cloudwatch", "alarm:axon-*")
QUEUES = arn("sqs", names.ASYNC_QUEUE_PATTERN)  # an ECS async API's queue and its DLQ (issue 15)
READ_QUEUE_OWNER = {"sqs:GetQueueUrl": {QUEUES}, "sqs:ListQueueTags": {QUEUES}}
# What the rollout Lambdas get for ECS: action -> the resources it is granted on, across all statements.
ROLLOUT_GRANTS = {
    "ssm:GetParameter": {CONFIG},
    "lambda:InvokeFunction": {arn("lambda", "function:axon-ecs-smoke")},  # the smoke test, sent from the VPC
    "ecs:RegisterTaskDefinition": {FAMILIES},
    "ecs:CreateService": {SERVICES},
    "ecs:UpdateService": {SERVICES},
    "ecs:DeleteService": {SERVICES},
    "ecs:DescribeServices": {SERVICES},
    "ecs:TagResource": {SERVICES, FAMILIES},
    "ecs:DeregisterTaskDefinition": {"*"},
    "ecs:ListTaskDefinitions": {"*"},
    "ecs:ListTasks": {"*"},
    "ecs:DescribeTasks": {arn("ecs", f"task/{names.ECS_CLUSTER}/*")},
    "ecs:DescribeTaskDefinition": {"*"},
    "elasticloadbalancing:CreateTargetGroup": {TARGET_GROUPS},
    "elasticloadbalancing:DeleteTargetGroup": {TARGET_GROUPS},
    "elasticloadbalancing:ModifyTargetGroupAttributes": {TARGET_GROUPS},
    "elasticloadbalancing:AddTags": {TARGET_GROUPS, RULES},
    "elasticloadbalancing:CreateRule": {LISTENERS},
    "elasticloadbalancing:ModifyRule": {RULES},
    "elasticloadbalancing:DeleteRule": {RULES},
    "elasticloadbalancing:DescribeRules": {"*"},
    "elasticloadbalancing:DescribeTags": {"*"},
    "elasticloadbalancing:DescribeTargetGroups": {"*"},
    "elasticloadbalancing:DescribeTargetHealth": {"*"},
    # ECS async APIs: the queue is made, kept and its tags hold the rollout's state; never deleted by a Lambda.
    **{f"sqs:{verb}": {QUEUES} for verb in ("CreateQueue", "GetQueueAttributes", "SetQueueAttributes", "TagQueue")},
    **{f"sqs:{verb}": {QUEUES} for verb in ("UntagQueue", "GetQueueUrl", "ListQueueTags")},
}
AUTOSCALER_GRANTS = {
    "ssm:GetParameter": {CONFIG},
    "ecs:DescribeServices": {SERVICES},
    "ecs:UpdateService": {SERVICES},
    "elasticloadbalancing:DescribeRules": {"*"},
    "elasticloadbalancing:DescribeTags": {"*"},
    **READ_QUEUE_OWNER,  # which version owns an async API's queue: its capacity
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(statements: list[dict[str, Any]], prefixes: tuple[str, ...] = ECS_SERVICES) -> dict[str, set[str]]:
    """Action -> every resource it is allowed on (flattened), for the actions under ``prefixes``."""
    found: dict[str, set[str]] = {}
    for statement in statements:
        for action in _as_list(statement["Action"]):
            if action == "sqs:SendMessage" and QUEUES not in {flat(r) for r in _as_list(statement["Resource"])}:
                continue  # the function's own dead-letter queue (Lambda's asynchronous invocation), not an API's
            if action.startswith(prefixes):
                found.setdefault(action, set()).update(flat(r) for r in _as_list(statement["Resource"]))
    return found


def platform_calls() -> set[str]:
    """Every AWS API the ECS platform's modules call or pass on, as IAM actions (``elbv2.add_tags(`` -> AddTags)."""
    root = Path(ecs_service.__file__).parent
    calls: set[str] = set()
    for name in PLATFORM_SOURCES:
        text = (root / name).read_text()
        methods = re.findall(r"\b(ecs|elbv2|cloudwatch|sqs)\.(?!get_paginator)([a-z_]+)[(,]", text)
        methods += [("ecs", m) for m in re.findall(r'ecs\.get_paginator\("([a-z_]+)"\)', text)]
        calls |= {f"{CLIENT_PREFIXES[c]}:{''.join(p.capitalize() for p in m.split('_'))}" for c, m in methods}
    return calls


@pytest.mark.parametrize("module", sorted(ROLLOUT_MODULES))
def test_rollout_lambdas_get_exactly_the_scoped_ecs_and_load_balancer_grants(synth: Synth, module: str) -> None:
    statements = function_statements(synth, f"axon-{module.replace('_', '-')}")
    assert grants(statements) == ROLLOUT_GRANTS
    assert grants(statements, ("cloudwatch:SetAlarmState",)) == {"cloudwatch:SetAlarmState": {ALARMS}}


@pytest.mark.parametrize("module", sorted(ROLLOUT_MODULES))
def test_rollout_lambdas_may_pass_only_the_api_roles_and_the_execution_role_and_only_to_ecs_tasks(
    synth: Synth, module: str
) -> None:
    statements = function_statements(synth, f"axon-{module.replace('_', '-')}")
    (passing,) = [
        s
        for s in statements
        if s["Action"] == "iam:PassRole"
        and s["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    ]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert sorted(flat(r) for r in _as_list(passing["Resource"])) == [
        f"arn:<AWS::Partition>:iam::<AWS::AccountId>:role/{names.ECS_EXECUTION_ROLE}",
        "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/axon/api/axon-api-*",  # tasks run as their API's role
    ]


def test_services_and_task_definitions_are_tagged_only_as_they_are_created(synth: Synth) -> None:
    (tagging,) = [s for s in function_statements(synth, "axon-deploy-version") if s["Action"] == "ecs:TagResource"]
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"]}}


def test_the_autoscaler_only_reads_the_rule_and_sets_desired_counts(synth: Synth) -> None:
    statements = function_statements(synth, AUTOSCALER_FUNCTION.function_name)
    assert grants(statements) == AUTOSCALER_GRANTS
    assert not [s for s in statements if s["Action"] == "iam:PassRole"]


def test_validation_only_reads_the_ecs_config_and_capacity_and_other_lambdas_nothing_of_ecs(synth: Synth) -> None:
    # Validation counts live replicas against AXON_MAX_TOTAL_REPLICAS (axon.rollout.prepare): reads only.
    validation = {
        "ssm:GetParameter": {CONFIG},
        "ecs:DescribeServices": {SERVICES},
        "elasticloadbalancing:DescribeRules": {"*"},
        "elasticloadbalancing:DescribeTags": {"*"},
        **READ_QUEUE_OWNER,
    }
    for spec in ALL_FUNCTIONS:
        if spec.name in ROLLOUT_MODULES or spec is AUTOSCALER_FUNCTION:
            continue
        expected = validation if spec.name == "validate_bundle" else {}
        assert grants(function_statements(synth, spec.function_name)) == expected, spec.name


def test_every_call_of_the_ecs_platform_is_granted_to_the_rollout_lambdas(synth: Synth) -> None:
    calls = platform_calls()
    assert {"ecs:CreateService", "elasticloadbalancing:ModifyRule", "cloudwatch:SetAlarmState"} <= calls
    assert {"sqs:CreateQueue", "sqs:TagQueue", "sqs:DeleteQueue"} <= calls
    granted = grants(
        function_statements(synth, "axon-check-deployment"), ("ecs:", "elasticloadbalancing:", "cloud", "sqs:")
    )
    assert calls - CLI_ONLY - granted.keys() == set()


def test_resource_star_is_granted_only_for_actions_without_resource_level_permissions(synth: Synth) -> None:
    for module in (*ROLLOUT_MODULES, "autoscaler"):
        for action, resources in grants(function_statements(synth, f"axon-{module.replace('_', '-')}")).items():
            assert "*" not in resources or action in RESOURCE_STAR_ACTIONS, (module, action)


def test_the_target_group_pattern_matches_the_names_the_platform_gives() -> None:
    for api, label in (("iris", "v3"), ("a-very-long-api-name-that-gets-cut-0123", "v12")):
        assert fnmatch.fnmatchcase(ecs_listener.target_group_name(api, label), TARGET_GROUP_PATTERN)
        assert fnmatch.fnmatchcase(ecs_service.service_name(api, label), "axon-*")
