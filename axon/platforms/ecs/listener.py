"""The load-balancer side of the ECS platform: per-version target groups, their tags, and each API's listener rules.

An API owns one priority slot of the listener (``2k-1``, ``2k``): the production rule, a weighted forward to the
live version's target group (blue and green during a rollout) on ``/apis/<api>/invocations`` only, and, during a
rollout, the test rule that sends requests carrying ``X-Axon-Version: <label>`` *and* the rollout's secret
``X-Axon-Test-Token`` to green alone. The secret is created with the test rule and lives only in its conditions,
so the control plane (which may describe the listener's rules) is the one client that can reach green before its
smoke test passed. Request bodies come from :mod:`axon.platforms.ecs.specs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon.platforms.base import VersionRef
from axon.platforms.ecs import specs
from axon.platforms.ecs.config import JwtAuth

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


def rule_path(rule: Any) -> str | None:
    """The rule's single path pattern (``None`` for another shape)."""
    paths = [values for field, _, values in specs.conditions_key(rule["Conditions"]) if field == "path-pattern"]
    return paths[0][0] if len(paths) == 1 and len(paths[0]) == 1 else None


def is_api_rule(api: str, rule: Any) -> bool:
    """One of the API's rules: its path is the API's (the current pattern, or the legacy ``/apis/<api>/*``)."""
    return rule_path(rule) in (specs.path_pattern(api), specs.legacy_path_pattern(api))


def rule_version(rule: Any) -> str | None:
    """The label a test rule sends to (its ``X-Axon-Version`` value); ``None`` for a production rule."""
    return specs.header_condition(rule["Conditions"], specs.VERSION_HEADER)


def rule_token(rule: Any) -> str | None:
    return specs.header_condition(rule["Conditions"], specs.TEST_TOKEN_HEADER)


def ignore_missing(delete: Callable[..., Any], **kwargs: Any) -> None:
    """Call ``delete``; a target group or rule that is already gone is not an error."""
    try:
        delete(**kwargs)
    except ClientError as error:
        if error_code(error) not in MISSING_ELB:
            raise


class Listener:
    """The ALB listener that holds one rule slot per API, and the target groups its rules forward to."""

    def __init__(self, elbv2: ElasticLoadBalancingv2Client, listener_arn: str, auth: JwtAuth | None = None) -> None:
        self.elbv2 = elbv2
        self.listener_arn = listener_arn
        self.auth = auth  # the JWT check every production rule runs before its forward

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
        """The API's rule with no header condition (its path current or legacy)."""
        return next((r for r in self.rules() if is_api_rule(api, r) and self._headers(r) == 0), None)

    def production_weights(self, api: str) -> list[tuple[str, int]]:
        return weights(self.production_rule(api))

    def set_weights(self, api: str, rule_arn: str, weighted: list[tuple[str, int]]) -> None:
        self.elbv2.modify_rule(**specs.modify_rule_request(rule_arn, api, weighted, self.auth))

    def delete_rule(self, rule_arn: str) -> None:
        self.elbv2.delete_rule(RuleArn=rule_arn)

    def test_rules(self, api: str) -> list[Any]:
        """The API's test rules (one per rollout; more only if an interrupted rollout left one behind)."""
        return [rule for rule in self.rules() if is_api_rule(api, rule) and rule_version(rule) is not None]

    def ensure_test_rule(self, version: VersionRef, target_group: str) -> str:
        """The secret of ``version``'s test rule, created with a fresh secret when there is none. A test rule of
        this label in an older shape (no secret, or the legacy path) is replaced."""
        label = version.label.lower()
        for rule in self.test_rules(version.api):
            if (rule_version(rule) or "").lower() != label:
                continue
            token = rule_token(rule)
            if token and rule_path(rule) == specs.path_pattern(version.api) and len(rule["Conditions"]) == 3:
                return token
            ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])
        token = specs.new_test_token()
        conditions = specs.test_conditions(version.api, version.label, token)
        self.create_rule(version.api, conditions, [(target_group, 1)], production=False)
        return token

    def delete_test_rules(self, api: str, label: str | None = None) -> None:
        """Delete the API's test rules (only ``label``'s, when given)."""
        for rule in self.test_rules(api):
            if label is None or (rule_version(rule) or "").lower() == label.lower():
                ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])

    @staticmethod
    def _headers(rule: Any) -> int:
        return sum(1 for field, _, _ in specs.conditions_key(rule["Conditions"]) if field == "http-header")

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
                auth = self.auth if production else None  # the test rule's secret is its credential
                self.elbv2.create_rule(
                    **specs.rule_request(self.listener_arn, priority, conditions, api, weighted, auth)
                )
                return
            except ClientError as error:
                if error_code(error) != "PriorityInUse" or attempt == _RULE_ATTEMPTS - 1:
                    raise
