"""Each Lambda's IAM policies as the synthesized template gives them, resolved to concrete ARNs, and judged by moto.

The template names resources by logical id (``Ref``, ``Fn::GetAtt``) and account by pseudo parameter; here they
become the ARNs the same resources have in the test account. Where the template gives a name (``TableName``,
``RoleName``...) that name is used; where CloudFormation would generate one, the resource is matched to the world's
name through the functions' environment (``AXON_MODELS_BUCKET: {Ref: Models...}`` in the template, ``axon-models``
in the world), so nothing is written a second time. A KMS key keeps its logical id as its key id: only the
policies and the bucket encryption refer to it, and both resolve the same way.

Evaluation is moto's own statement matcher (``moto.iam.access_control.IAMPolicyStatement``) for ``Action`` and
``Resource`` wildcards, the one moto applies to the services it checks; an explicit ``Deny`` wins. Conditions are
evaluated here (:func:`conditions_hold`), because moto's evaluator passes every operator but ``StringEquals`` and
passes a condition whose key the request lacks: both would let a too-narrow grant through unnoticed. See
``docs/moto-patches.md``, "IAM", for what moto itself checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from bench.faults.iam import Account, Request

_NAME_PROPERTIES = {  # resource type -> the property holding its physical name (Ref returns it)
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::EventBus": "Name",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::KMS::Key": "",  # generated: its logical id stands for the key id
}
_REF_IS_ARN = {"AWS::StepFunctions::StateMachine", "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"}


class UnresolvedToken(ValueError):
    """A template token this resolver cannot turn into a concrete value; extend :class:`Resolver`."""


@dataclass
class Resolver:
    """Turns template values into concrete strings for ``account``; ``names`` binds generated names to the world's."""

    resources: Mapping[str, Mapping[str, Any]]
    account: Account
    names: dict[str, str] = field(default_factory=dict)  # logical id -> physical name
    arns: dict[str, str] = field(default_factory=dict)  # logical id -> ARN

    def bind(self, template_value: Any, world_value: str) -> None:
        """Bind ``{Ref: X}`` or ``{Fn::GetAtt: [X, Arn]}`` to the world's value of the same setting."""
        if isinstance(template_value, dict) and "Ref" in template_value and template_value["Ref"] in self.resources:
            logical = template_value["Ref"]
            target = self.arns if self.resources[logical]["Type"] in _REF_IS_ARN else self.names
            target[logical] = world_value
        elif isinstance(template_value, dict) and "Fn::GetAtt" in template_value:
            logical, attribute = template_value["Fn::GetAtt"]
            if attribute == "Arn":
                self.arns[logical] = world_value

    def name(self, logical: str) -> str:
        if logical in self.names:
            return self.names[logical]
        resource = self.resources[logical]
        if resource["Type"] not in _NAME_PROPERTIES:
            raise UnresolvedToken(f"no name rule for {resource['Type']} ({logical})")
        prop = _NAME_PROPERTIES[resource["Type"]]
        value = resource.get("Properties", {}).get(prop) if prop else None
        return str(self.resolve(value)) if value is not None else logical

    def arn(self, logical: str) -> str:
        if logical in self.arns:
            return self.arns[logical]
        kind, name, a = self.resources[logical]["Type"], self.name(logical), self.account
        path = self.resources[logical].get("Properties", {}).get("Path", "/")
        arns = {
            "AWS::S3::Bucket": lambda: a.s3(name),
            "AWS::DynamoDB::GlobalTable": lambda: a.arn("dynamodb", f"table/{name}"),
            "AWS::DynamoDB::Table": lambda: a.arn("dynamodb", f"table/{name}"),
            "AWS::KMS::Key": lambda: a.arn("kms", f"key/{name}"),
            "AWS::Logs::LogGroup": lambda: a.arn("logs", f"log-group:{name}:*"),
            "AWS::ECR::Repository": lambda: a.arn("ecr", f"repository/{name}"),
            "AWS::CodeBuild::Project": lambda: a.arn("codebuild", f"project/{name}"),
            "AWS::IAM::Role": lambda: f"arn:{a.partition}:iam::{a.account_id}:role{path}{name}",
            "AWS::IAM::ManagedPolicy": lambda: f"arn:{a.partition}:iam::{a.account_id}:policy{path}{name}",
            "AWS::Lambda::Function": lambda: a.arn("lambda", f"function:{name}"),
            "AWS::StepFunctions::StateMachine": lambda: a.arn("states", f"stateMachine:{name}"),
            "AWS::SNS::Topic": lambda: a.arn("sns", name),
            "AWS::SQS::Queue": lambda: a.arn("sqs", name),
            "AWS::Events::EventBus": lambda: a.arn("events", f"event-bus/{name}"),
        }
        if kind not in arns:
            raise UnresolvedToken(f"no ARN rule for {kind} ({logical})")
        return arns[kind]()

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function and pseudo parameter replaced by its concrete value."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            if attribute != "Arn":
                raise UnresolvedToken(f"Fn::GetAtt {logical}.{attribute}")
            return self.arn(logical)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(p)) for p in parts)
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):  # ${Ref} and ${Logical.Arn} forms
            return re.sub(
                r"\$\{([^}!]+)\}",
                lambda m: self.resolve({"Fn::GetAtt": m[1].split(".", 1)} if "." in m[1] else {"Ref": m[1]}),
                value["Fn::Sub"],
            )
        if any(key.startswith("Fn::") for key in value):
            raise UnresolvedToken(json.dumps(value))
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, target: str) -> str:
        pseudo = {
            "AWS::Partition": self.account.partition,
            "AWS::Region": self.account.region,
            "AWS::AccountId": self.account.account_id,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if target in pseudo:
            return pseudo[target]
        if target not in self.resources:
            raise UnresolvedToken(f"Ref {target}")
        return self.arn(target) if self.resources[target]["Type"] in _REF_IS_ARN else self.name(target)


def resolver(template: Mapping[str, Any], world_environment: Mapping[str, str], account: Account) -> Resolver:
    """A resolver whose generated names are the world's, matched through the functions' environment variables."""
    resources: Mapping[str, Mapping[str, Any]] = template["Resources"]
    found = Resolver(resources, account)
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            if world_environment.get(key):  # an empty value names nothing (a setting left at its default)
                found.bind(value, world_environment[key])
    return found


def bucket_keys(found: Resolver) -> dict[str, str]:
    """Bucket name -> the ARN of the KMS key it encrypts new objects with (SSE-KMS buckets only)."""
    keys = {}
    for logical, resource in found.resources.items():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        rules = resource.get("Properties", {}).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        for encryption in rules:
            default = encryption.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and "KMSMasterKeyID" in default:
                keys[found.name(logical)] = str(found.resolve(default["KMSMasterKeyID"]))
    return keys


def role_documents(found: Resolver, role: str) -> list[dict[str, Any]]:
    """Every policy document attached to role ``role`` (logical id): its policies, inline and managed, resolved."""
    documents = []
    for resource in found.resources.values():
        props = resource.get("Properties", {})
        attached = {"Ref": role} in props.get("Roles", [])
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and attached:
            documents.append(found.resolve(props["PolicyDocument"]))
    props = found.resources[role].get("Properties", {})
    documents += [found.resolve(policy["PolicyDocument"]) for policy in props.get("Policies", [])]
    for managed in props.get("ManagedPolicyArns", []):
        if not (isinstance(managed, dict) and "Ref" in managed):
            raise UnresolvedToken(f"managed policy {managed} of {role} is not in the template")
        documents.append(found.resolve(found.resources[managed["Ref"]]["Properties"]["PolicyDocument"]))
    return documents


def function_documents(found: Resolver, function_name: str) -> list[dict[str, Any]]:
    """The resolved policy documents of the role of the Lambda named ``function_name``."""
    (function,) = [
        r
        for r in found.resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == function_name
    ]
    return role_documents(found, function["Properties"]["Role"]["Fn::GetAtt"][0])


@dataclass(frozen=True, order=True)
class Grant:
    """One action of one Allow statement, with the statement's resources (rendered) as it names them."""

    action: str
    resources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.action} on {', '.join(self.resources)}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(documents: Iterable[Mapping[str, Any]]) -> list[tuple[Grant, dict[str, Any]]]:
    """Each (action, statement) an Allow statement grants, with a one-action statement to evaluate it alone."""
    found = []
    for document in documents:
        for statement in _as_list(document["Statement"]):
            if statement.get("Effect") != "Allow" or "Action" not in statement:
                continue
            for action in _as_list(statement["Action"]):
                single = {**statement, "Action": action}
                found.append((Grant(action, tuple(map(str, _as_list(statement.get("Resource", "*"))))), single))
    return found


def _glob(pattern: str, value: str) -> bool:
    """IAM's ``*`` (any run) and ``?`` (one character), case-sensitive, over the whole value."""
    return (
        re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), value)
        is not None
    )


def _equal(expected: str, actual: str) -> bool:
    return actual == expected


def _bool(expected: str, actual: str) -> bool:
    return actual.lower() == expected.lower()


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _equal,
    "StringLike": _glob,
    "ArnEquals": _equal,
    "ArnLike": _glob,
    "Bool": _bool,
}


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    """IAM's rules for the operators axon's policies use: every operator block holds; within one, every key holds;
    a key holds when the request's value matches any listed value. A key the request lacks fails the condition,
    unless the operator ends in ``IfExists``. An operator not listed here raises: it must be taught, not passed."""
    values = dict(request.conditions)
    for operator, keys in condition.items():
        name = operator.removesuffix("IfExists")
        if name not in _OPERATORS:
            raise ValueError(f"condition operator {operator} is not evaluated by bench.faults.iam_policies")
        for key, expected in keys.items():
            if key not in values:
                if operator.endswith("IfExists"):
                    continue
                return False
            if not any(_OPERATORS[name](str(e), values[key]) for e in _as_list(expected)):
                return False
    return True


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether ``statement``'s action, resource and conditions all match ``request``, whatever its effect.

    moto matches the action and resource of the statement without its condition, asked as an Allow (moto answers
    DENIED for an Allow statement whose action matches, which would make two ``iam:PassRole`` statements for two
    services deny each other); :func:`conditions_hold` judges the condition.
    """
    matcher = {k: v for k, v in statement.items() if k != "Condition"}
    result = IAMPolicyStatement({**matcher, "Effect": "Allow"}).is_action_permitted(request.action, request.resource)
    return result == PermissionResult.PERMITTED and conditions_hold(statement.get("Condition", {}), request)


def permitted(documents: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Whether the policies allow ``request``: some Allow statement applies and no Deny statement does."""
    statements = [s for d in documents for s in _as_list(d["Statement"]) if applies(s, request)]
    return any(s["Effect"] == "Allow" for s in statements) and not any(s["Effect"] == "Deny" for s in statements)
