"""The load-balancer side of one ECS API: per-version target groups, their tags, the API's listener rules and alarms.

An API owns one priority slot of the listener (``2k-1``, ``2k``): the production rule, a weighted forward to the
live version's target group (blue and green during a rollout) on ``/apis/<api>/invocations`` only, and, during a
rollout, the test rule that sends requests carrying ``X-Axon-Version: <label>`` *and* the rollout's secret
``X-Axon-Test-Token`` to green alone. The secret is created with the test rule and lives only in its conditions,
so the control plane (which may describe the listener's rules) is the one client that can reach green before its
smoke test passed. Request bodies are pure builders (dict-equality tested); :class:`Listener` makes the calls.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.alarms import RollbackAlarmMetrics, rollback_alarm_requests
from axon.platforms.base import VersionRef
from axon.platforms.ecs.config import JwtAuth
from axon.platforms.ecs.service import CONTAINER_PORT, HEALTH_CHECK_PATH, TAG_API, TAG_VERSION

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

VERSION_HEADER = "X-Axon-Version"  # the test rule sends requests carrying it to the new version only...
TEST_TOKEN_HEADER = "X-Axon-Test-Token"  # noqa: S105 (a header name) ...and the rollout's secret, kept in the rule
ROUTED_PATH = "invocations"  # the one runtime path the ALB routes (SageMaker's; not /ping, not /metrics)
# ALB: a target counts as healthy after 2 good checks 15 s apart, unhealthy after 3 bad ones.
_HEALTH = {"interval": 15, "timeout": 5, "healthy": 2, "unhealthy": 3}
# Seconds the ALB lets in-flight requests finish on a target being removed (blue after a rollout).
DEREGISTRATION_DELAY_SECONDS = 30
_TARGET_GROUP_NAME_LIMIT = 32
MISSING_ELB = frozenset({"TargetGroupNotFound", "RuleNotFound"})
_RULE_ATTEMPTS = 3  # another API may take the same free priority at once: pick again


# ---- target groups --------------------------------------------------------------------------------------------


def target_group_name(api: str, label: str) -> str:
    """Target group names are capped at 32 characters: a readable prefix, the label, and a hash of both.

    Examples
    --------
    >>> target_group_name("iris", "v3")
    'ax-iris-v3-a0d275'
    """
    digest = hashlib.sha256(f"{api}/{label}".encode()).hexdigest()[:6]
    suffix = f"-{label}-{digest}"
    return f"{names.TARGET_GROUP_PREFIX}{api}"[: _TARGET_GROUP_NAME_LIMIT - len(suffix)].rstrip("-") + suffix


def arn_resource(arn: str) -> str:
    """The part of an ELBv2 ARN CloudWatch dimensions use: ``targetgroup/<name>/<id>``, ``app/<lb>/<id>``."""
    return arn.split(":", 5)[5]


def load_balancer_dimension(listener_arn: str) -> str:
    """``...:listener/app/<lb>/<id>/<listener-id>`` -> ``app/<lb>/<id>``."""
    return "/".join(arn_resource(listener_arn).split("/")[1:4])


def target_group_request(version: VersionRef, vpc_id: str) -> dict[str, Any]:
    return {
        "Name": target_group_name(version.api, version.label),
        "Protocol": "HTTP",
        "Port": CONTAINER_PORT,
        "VpcId": vpc_id,
        "TargetType": "ip",  # awsvpc tasks register by IP
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": HEALTH_CHECK_PATH,
        "HealthCheckIntervalSeconds": _HEALTH["interval"],
        "HealthCheckTimeoutSeconds": _HEALTH["timeout"],
        "HealthyThresholdCount": _HEALTH["healthy"],
        "UnhealthyThresholdCount": _HEALTH["unhealthy"],
        "Matcher": {"HttpCode": "200"},
        "Tags": [{"Key": TAG_API, "Value": version.api}, {"Key": TAG_VERSION, "Value": version.label}],
    }


def target_group_attributes_request(target_group_arn: str) -> dict[str, Any]:
    return {
        "TargetGroupArn": target_group_arn,
        "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_SECONDS)}],
    }


# ---- listener rules -------------------------------------------------------------------------------------------


def path_pattern(api: str) -> str:
    """Only the inference path is routed: the runtime's ``/metrics`` and ``/ping`` stay behind the ALB."""
    return f"/apis/{api}/{ROUTED_PATH}"


def legacy_path_pattern(api: str) -> str:
    """The pattern rules had before only ``/invocations`` was routed; recognised, and replaced on ModifyRule."""
    return f"/apis/{api}/*"


def production_conditions(api: str) -> list[dict[str, Any]]:
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": [path_pattern(api)]}}]


def test_conditions(api: str, label: str, token: str) -> list[dict[str, Any]]:
    """The production path plus ``X-Axon-Version: <label>`` and the rollout's secret ``X-Axon-Test-Token``:
    requests that reach the new version only, from whoever can read the rule (the control plane)."""
    return [
        *production_conditions(api),
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": VERSION_HEADER, "Values": [label]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": TEST_TOKEN_HEADER, "Values": [token]}},
    ]


def new_test_token() -> str:
    """128 random bits, lower-case hex: ALB header matching ignores case, and hex has no ``*``/``?`` wildcards."""
    return secrets.token_hex(16)


def header_condition(conditions: Sequence[dict[str, Any]], header: str) -> str | None:
    """The single value a rule's ``http-header`` condition on ``header`` matches (``None`` without one)."""
    for field, name, values in conditions_key(conditions):
        if field == "http-header" and name == header.lower() and len(values) == 1:
            return values[0]
    return None


def rewrite_transforms(api: str) -> list[dict[str, Any]]:
    """``/apis/<api>/invocations`` -> ``/invocations``: the runtime serves SageMaker's paths."""
    rewrite = {"Regex": f"^/apis/{re.escape(api)}/(.*)$", "Replace": "/$1"}
    return [{"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [rewrite]}}]


def auth_actions(auth: JwtAuth | None) -> list[dict[str, Any]]:
    """The ``jwt-validation`` action that runs before the forward, when the stack asks for authentication."""
    if auth is None:
        return []
    config: dict[str, Any] = {"JwksEndpoint": auth.jwks_endpoint, "Issuer": auth.issuer}
    if auth.scopes:
        config["AdditionalClaims"] = [{"Format": "space-separated-values", "Name": "scope", "Values": [*auth.scopes]}]
    return [{"Type": "jwt-validation", "Order": 1, "JwtValidationConfig": config}]


def forward_actions(weights: Sequence[tuple[str, int]], auth: JwtAuth | None = None) -> list[dict[str, Any]]:
    """One weighted forward action (after the JWT check, if any); a target group at weight 0 stays listed only
    while it is blue or green."""
    before = auth_actions(auth)
    forward: dict[str, Any] = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights]},
    }
    if before:
        forward["Order"] = len(before) + 1
    return [*before, forward]


def modify_rule_request(
    rule_arn: str, api: str, weights: Sequence[tuple[str, int]], auth: JwtAuth | None = None
) -> dict[str, Any]:
    """New weights for the production rule; its conditions are sent too, so a legacy ``/apis/<api>/*`` rule
    stops routing ``/metrics`` at its next weight change."""
    return {"RuleArn": rule_arn, "Conditions": production_conditions(api), "Actions": forward_actions(weights, auth)}


def rule_priorities(slot: int) -> tuple[int, int]:
    """An API's two rules sit in adjacent priorities: the test rule first, so it wins for tagged requests."""
    return 2 * slot - 1, 2 * slot


def free_slot(used_priorities: set[int]) -> int:
    """The lowest slot whose two priorities are both free (ALB priorities run 1-50000)."""
    slot = 1
    while set(rule_priorities(slot)) & used_priorities:
        slot += 1
    if rule_priorities(slot)[1] > 50_000:
        raise ValueError("the listener has no free rule priority left")
    return slot


def rule_request(
    listener_arn: str,
    priority: int,
    conditions: list[dict[str, Any]],
    api: str,
    weights: Sequence[tuple[str, int]],
    auth: JwtAuth | None = None,
) -> dict[str, Any]:
    return {
        "ListenerArn": listener_arn,
        "Priority": priority,
        "Conditions": conditions,
        "Actions": forward_actions(weights, auth),
        "Transforms": rewrite_transforms(api),
        "Tags": [{"Key": TAG_API, "Value": api}],
    }


def conditions_key(conditions: Sequence[dict[str, Any]]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A comparable form of rule conditions, as sent or as DescribeRules returns them (which adds legacy keys)."""
    key = []
    for condition in conditions:
        field = str(condition["Field"])
        if field == "http-header":
            config = condition["HttpHeaderConfig"]
            key.append((field, str(config["HttpHeaderName"]).lower(), tuple(config["Values"])))
        elif field == "path-pattern":
            values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
            key.append((field, "", tuple(values)))
        else:
            key.append((field, "", tuple(condition.get("Values") or [])))
    return tuple(sorted(key))


# ---- alarms ---------------------------------------------------------------------------------------------------


def alarm_requests(version: VersionRef, listener_arn: str, target_group_arn: str) -> list[dict[str, Any]]:
    """The per-API rollback alarms on the new version's target group (``TargetResponseTime`` is in seconds)."""
    source = RollbackAlarmMetrics(
        namespace="AWS/ApplicationELB",
        dimensions=[
            {"Name": "LoadBalancer", "Value": load_balancer_dimension(listener_arn)},
            {"Name": "TargetGroup", "Value": arn_resource(target_group_arn)},
        ],
        errors_metric="HTTPCode_Target_5XX_Count",
        latency_metric="TargetResponseTime",
        latency_unit_per_second=1.0,
    )
    return rollback_alarm_requests(version, source, f"{version.api} {version.label}")


# ---- reading and writing the listener ------------------------------------------------------------------------


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
    paths = [values for field, _, values in conditions_key(rule["Conditions"]) if field == "path-pattern"]
    return paths[0][0] if len(paths) == 1 and len(paths[0]) == 1 else None


def is_api_rule(api: str, rule: Any) -> bool:
    """One of the API's rules: its path is the API's (the current pattern, or the legacy ``/apis/<api>/*``)."""
    return rule_path(rule) in (path_pattern(api), legacy_path_pattern(api))


def rule_version(rule: Any) -> str | None:
    """The label a test rule sends to (its ``X-Axon-Version`` value); ``None`` for a production rule."""
    return header_condition(rule["Conditions"], VERSION_HEADER)


def rule_token(rule: Any) -> str | None:
    return header_condition(rule["Conditions"], TEST_TOKEN_HEADER)


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
            found = self.elbv2.describe_target_groups(Names=[target_group_name(api, label)])
        except ClientError as error:
            if error_code(error) in MISSING_ELB:
                return None
            raise
        return str(found["TargetGroups"][0]["TargetGroupArn"])

    def ensure_target_group(self, version: VersionRef, vpc_id: str) -> str:
        existing = self.target_group(version.api, version.label)
        if existing is not None:
            return existing
        created = self.elbv2.create_target_group(**target_group_request(version, vpc_id))
        arn = str(created["TargetGroups"][0]["TargetGroupArn"])
        self.elbv2.modify_target_group_attributes(**target_group_attributes_request(arn))
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
        self.elbv2.modify_rule(**modify_rule_request(rule_arn, api, weighted, self.auth))

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
            if token and rule_path(rule) == path_pattern(version.api) and len(rule["Conditions"]) == 3:
                return token
            ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])
        token = new_test_token()
        conditions = test_conditions(version.api, version.label, token)
        self.create_rule(version.api, conditions, [(target_group, 1)], production=False)
        return token

    def delete_test_rules(self, api: str, label: str | None = None) -> None:
        """Delete the API's test rules (only ``label``'s, when given)."""
        for rule in self.test_rules(api):
            if label is None or (rule_version(rule) or "").lower() == label.lower():
                ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])

    @staticmethod
    def _headers(rule: Any) -> int:
        return sum(1 for field, _, _ in conditions_key(rule["Conditions"]) if field == "http-header")

    def create_rule(
        self, api: str, conditions: list[dict[str, Any]], weighted: list[tuple[str, int]], *, production: bool
    ) -> None:
        """Create one of the API's two rules in the API's priority slot (a fresh slot if it has none)."""
        for attempt in range(_RULE_ATTEMPTS):
            rules = self.rules()
            mine = [r for r in rules if r.get("Priority", "default").isdigit() and is_api_rule(api, r)]
            used = {int(r["Priority"]) for r in rules if str(r.get("Priority", "")).isdigit()}
            slot = (int(mine[0]["Priority"]) + 1) // 2 if mine else free_slot(used)
            priority = rule_priorities(slot)[1 if production else 0]
            try:
                auth = self.auth if production else None  # the test rule's secret is its credential
                self.elbv2.create_rule(**rule_request(self.listener_arn, priority, conditions, api, weighted, auth))
                return
            except ClientError as error:
                if error_code(error) != "PriorityInUse" or attempt == _RULE_ATTEMPTS - 1:
                    raise
