"""cdk-nag v3 wiring, acknowledgements computed from the very statements they excuse, and checkov skips.

cdk-nag names an IAM5 finding after the wildcard it found, with CloudFormation references flattened
(``{"Fn::GetAtt": ["Bucket12AB", "Arn"]}`` -> ``<Bucket12AB.Arn>``). Computing that id from the statement,
instead of copying it from a report, keeps every acknowledgement next to the permission it is about, and
a statement whose wildcard changes loses its acknowledgement instead of silently keeping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

WILDCARD_RULE = "AwsSolutions-IAM5"
CHECKOV_METADATA = "checkov"  # checkov reads ``Metadata.checkov.skip: [{id, comment}]`` of each resource
MIN_REASON_LENGTH = 40  # a reason says why the finding does not apply, not just that it was looked at


@dataclass(frozen=True)
class Permission:
    """One statement; ``wildcard_reason`` is required when it holds a ``*`` (it becomes the acknowledgement)."""

    statement: iam.PolicyStatement
    wildcard_reason: str | None = None


def allow(actions: list[str], resources: list[str], conditions: Mapping[str, Any] | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)


def add_checks(scope: IConstruct) -> None:
    """Run the AwsSolutions pack on everything under ``scope`` at synth; a finding fails the synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope, verbose=True))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def flatten_reference(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag flattens it for finding ids."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
    raise ValueError(f"cannot flatten {value!r}")


def resource_finding(scope: IConstruct, resource: str) -> str:
    """The IAM5 finding id of a wildcard ``resource`` (an ARN string, tokens allowed)."""
    return f"{WILDCARD_RULE}[Resource::{flatten_reference(Stack.of(scope).resolve(resource))}]"


def action_finding(action: str) -> str:
    return f"{WILDCARD_RULE}[Action::{action}]"


def wildcard_findings(scope: IConstruct, statement: iam.PolicyStatement) -> list[str]:
    """The IAM5 finding ids ``statement`` raises: one per action or resource holding a ``*``."""
    resolved = Stack.of(scope).resolve(statement.to_statement_json())
    actions, resources = resolved.get("Action", []), resolved.get("Resource", [])
    findings = [action_finding(a) for a in ([actions] if isinstance(actions, str) else actions) if "*" in a]
    for resource in resources if isinstance(resources, list) else [resources]:
        if "*" in flatten_reference(resource):
            findings.append(f"{WILDCARD_RULE}[Resource::{flatten_reference(resource)}]")
    return findings


def acknowledge_wildcards(scope: IConstruct, statement: iam.PolicyStatement, reason: str) -> None:
    """Acknowledge every wildcard of ``statement`` on ``scope`` (the construct that owns the policy)."""
    for finding in wildcard_findings(scope, statement):
        acknowledge(scope, finding, reason)


def skip_scan(scope: IConstruct, check_id: str, reason: str) -> None:
    """Record, on the CloudFormation resource of ``scope``, why checkov's ``check_id`` does not apply to it."""
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"{check_id}: give a specific reason, not {reason!r}")
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource to carry a checkov skip")
    skips = (resource.get_metadata(CHECKOV_METADATA) or {}).get("skip", [])
    if all(skip["id"] != check_id for skip in skips):
        resource.add_metadata(CHECKOV_METADATA, {"skip": [*skips, {"id": check_id, "comment": reason}]})
