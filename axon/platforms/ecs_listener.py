"""The load-balancer side of the ECS platform: per-version target groups, their tags, and each API's listener rules.

An API owns one priority slot of the listener (``2k-1``, ``2k``): the production rule, a weighted forward to the
live version's target group (blue and green during a rollout), and, during a rollout, the test rule that sends
requests carrying ``X-Axon-Version: <label>`` to green alone. Request bodies come from
:mod:`axon.platforms.ecs_specs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon.platforms import ecs_specs as specs
from axon.platforms.base import VersionRef

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

MISSING_ELB = frozenset({"TargetGroupNotFound", "RuleNotFound"})
_RULE_ATTEMPTS = 3  # another API may take the same free priority at once: pick again


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def weights(rule: Any) -> list[tuple[str, int]]:
    """The rule's forward targets and weights, as ``[(target group ARN, weight)]`` (empty for no rule)."""
    if rule is None:
        return []
    found: list[tuple[str, int]] = []
    for action in rule["Actions"]:
        if action["Type"] != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            found.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            found.append((action["TargetGroupArn"], 1))
    return found


def heaviest(weighted: list[tuple[str, int]]) -> str:
    """The target group with the largest weight (the first of equals)."""
    return max(weighted, key=lambda w: w[1])[0]


def is_api_rule(api: str, rule: Any) -> bool:
    path = specs.conditions_key(specs.production_conditions(api))[0]
    return path in specs.conditions_key(rule["Conditions"])


def ignore_missing(delete: Callable[..., Any], **kwargs: Any) -> None:
    """Call ``delete``; a target group or rule that is already gone is not an error."""
    try:
        delete(**kwargs)
    except ClientError as error:
        if error_code(error) not in MISSING_ELB:
            raise


class Listener:
    """The ALB listener that holds one rule slot per API, and the target groups its rules forward to."""

    def __init__(self, elbv2: ElasticLoadBalancingv2Client, listener_arn: str) -> None:
        self.elbv2 = elbv2
        self.listener_arn = listener_arn

    # ---- target groups and their tags -----------------------------------------------------------------------

    def target_group(self, api: str, label: str) -> str | None:
        try:
            found = self.elbv2.describe_target_groups(Names=[specs.target_group_name(api, label)])
        except ClientError as error:
            if error_code(error) in MISSING_ELB:
                return None
            raise
        return str(found["TargetGroups"][0]["TargetGroupArn"])

    def ensure_target_group(self, version: VersionRef, vpc_id: str) -> str:
        existing = self.target_group(version.api, version.label)
        if existing is not None:
            return existing
        created = self.elbv2.create_target_group(**specs.target_group_request(version, vpc_id))
        arn = str(created["TargetGroups"][0]["TargetGroupArn"])
        self.elbv2.modify_target_group_attributes(**specs.target_group_attributes_request(arn))
        return arn

    def delete_target_group(self, arn: str) -> None:
        ignore_missing(self.elbv2.delete_target_group, TargetGroupArn=arn)

    def tags(self, arn: str) -> dict[str, str]:
        described = self.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        return {tag["Key"]: tag["Value"] for d in described for tag in d.get("Tags") or []}

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    # ---- rules ----------------------------------------------------------------------------------------------

    def rules(self) -> list[Any]:
        rules: list[Any] = []
        request: dict[str, Any] = {"ListenerArn": self.listener_arn}
        while True:
            page = self.elbv2.describe_rules(**request)
            rules.extend(page["Rules"])
            if not page.get("NextMarker"):
                return rules
            request["Marker"] = page["NextMarker"]

    def production_rule(self, api: str) -> Any:
        wanted = specs.conditions_key(specs.production_conditions(api))
        return next((r for r in self.rules() if specs.conditions_key(r["Conditions"]) == wanted), None)

    def production_weights(self, api: str) -> list[tuple[str, int]]:
        return weights(self.production_rule(api))

    def set_weights(self, rule_arn: str, weighted: list[tuple[str, int]]) -> None:
        self.elbv2.modify_rule(**specs.modify_rule_request(rule_arn, weighted))

    def delete_rule(self, rule_arn: str) -> None:
        self.elbv2.delete_rule(RuleArn=rule_arn)

    def test_rules(self, api: str) -> list[Any]:
        """The API's test rules (one per rollout; more only if an interrupted rollout left one behind)."""
        path = specs.conditions_key(specs.production_conditions(api))[0]
        return [
            rule
            for rule in self.rules()
            if path in (key := specs.conditions_key(rule["Conditions"]))
            and any(field == "http-header" and name == specs.VERSION_HEADER.lower() for field, name, _ in key)
        ]

    def ensure_test_rule(self, version: VersionRef, target_group: str) -> None:
        wanted = specs.conditions_key(specs.test_conditions(version.api, version.label))
        if not any(specs.conditions_key(r["Conditions"]) == wanted for r in self.test_rules(version.api)):
            conditions = specs.test_conditions(version.api, version.label)
            self.create_rule(version.api, conditions, [(target_group, 1)], production=False)

    def delete_test_rules(self, api: str, label: str | None = None) -> None:
        """Delete the API's test rules (only ``label``'s, when given)."""
        only = specs.conditions_key(specs.test_conditions(api, label)) if label else None
        for rule in self.test_rules(api):
            if only is None or specs.conditions_key(rule["Conditions"]) == only:
                ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])

    def create_rule(
        self, api: str, conditions: list[dict[str, Any]], weighted: list[tuple[str, int]], *, production: bool
    ) -> None:
        """Create one of the API's two rules in the API's priority slot (a fresh slot if it has none)."""
        for attempt in range(_RULE_ATTEMPTS):
            rules = self.rules()
            mine = [r for r in rules if r.get("Priority", "default").isdigit() and is_api_rule(api, r)]
            used = {int(r["Priority"]) for r in rules if str(r.get("Priority", "")).isdigit()}
            slot = (int(mine[0]["Priority"]) + 1) // 2 if mine else specs.free_slot(used)
            priority = specs.rule_priorities(slot)[1 if production else 0]
            try:
                self.elbv2.create_rule(**specs.rule_request(self.listener_arn, priority, conditions, api, weighted))
                return
            except ClientError as error:
                if error_code(error) != "PriorityInUse" or attempt == _RULE_ATTEMPTS - 1:
                    raise
