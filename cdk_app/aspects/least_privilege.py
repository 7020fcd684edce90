"""Fail the synth on IAM statements broader than axon allows, acknowledged by cdk-nag or not.

Two house rules, stricter than cdk-nag's IAM5 (which an acknowledgement silences): no action wildcard that
covers a whole service (``*`` or ``<service>:*``), and ``Resource: "*"`` only for the actions AWS offers no
resource-level permissions for.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

RULE = "axon-least-privilege"
# Actions that accept only Resource "*" (per the AWS Service Authorization Reference).
RESOURCE_STAR_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "ecr:GetAuthorizationToken",
        "cloudwatch:GetMetricData",
        "cloudwatch:PutMetricData",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        # The ECS platform (AxonCore's rollout Lambdas and autoscaler). In the Service Authorization Reference
        # these list no resource type, so a scoped Resource would deny them:
        "ecs:DeregisterTaskDefinition",  # removing a version deregisters its task-definition revisions
        "ecs:ListTaskDefinitions",  # ... found by familyPrefix axon-<api>-<label>
        "ecs:ListTasks",  # a new version's stopped tasks (condition: the axon cluster)
        "ecs:DescribeTaskDefinition",  # ... and where their container logged
        "elasticloadbalancing:DescribeRules",  # the API's rules and their weights on the listener
        "elasticloadbalancing:DescribeTags",  # the bake clock and smoke-test verdict on green's target group
        "elasticloadbalancing:DescribeTargetGroups",  # a version's target group by name
        "elasticloadbalancing:DescribeTargetHealth",  # whether green's targets pass their health checks
        # The axon CLI's delete (cdk_app/constructs/cli_policy.py): SageMaker's and ECS's listings have no resource
        # type either; delete lists only names of one API (NameContains, familyPrefix; ListServices: the cluster).
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListModels",
        "ecs:ListServices",
        "ecs:ListTaskDefinitionFamilies",
        # An async API's SNS topics are found by name to delete them (axon.platforms.sagemaker.topics).
        "sns:ListTopics",
        # AxonEcs's smoke-test Lambda in the VPC: Lambda looks up the function's network interfaces and subnets.
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
    }
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def violations(document: dict[str, Any]) -> list[str]:
    """What is too broad in a resolved policy document (empty when it follows the rules)."""
    found = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
        found += [f"action {a} grants a whole service" for a in actions if a == "*" or a.endswith(":*")]
        if "*" in _as_list(statement.get("Resource", [])):
            found += [f"action {a} on Resource '*'" for a in actions if a not in RESOURCE_STAR_ACTIONS]
    return found


@jsii.implements(IAspect)
class LeastPrivilege:
    """Adds an error annotation (which fails ``cdk synth``) to every IAM policy that breaks the rules."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnPolicy | iam.CfnManagedPolicy):
            documents = [Stack.of(node).resolve(node.policy_document)]
        elif isinstance(node, iam.CfnRole):
            inline = Stack.of(node).resolve(node.policies) or []
            documents = [value for policy in inline for key, value in policy.items() if key.lower() == "policydocument"]
        else:
            return
        for document in documents:
            for violation in violations(document):
                Annotations.of(node).add_error(f"[{RULE}] {violation}")
