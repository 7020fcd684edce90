"""The listener's rules (as ``DescribeRules`` returns them) read as the routes the local ALB serves.

``axon.platforms.ecs`` creates two kinds of rule per API, and the local ALB evaluates exactly those, with the
ALB's precedence: the test rule (path ``/apis/<api>/invocations`` plus ``X-Axon-Version: <label>`` and
``X-Axon-Test-Token: <the rollout's secret>``, the lower priority number) wins for a request carrying both headers;
otherwise the production rule (the path alone) forwards by its target-group weights; a request no rule matches,
``/apis/<api>/metrics`` for one, gets the listener's default action. Paths are matched as the ALB matches
``path-pattern`` values (case-sensitive; ``*`` any characters, ``?`` one). Rules of any other shape are reported,
not routed (:attr:`ListenerView.unsupported`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from axon.platforms.ecs import listener as ecs_listener

_API_PATH = re.compile(r"^/apis/([a-z0-9-]{1,40})/")  # ecs_listener.path_pattern: the API a rule belongs to
_HEADER = ecs_listener.VERSION_HEADER.lower()
_TOKEN = ecs_listener.TEST_TOKEN_HEADER.lower()

Weights = tuple[tuple[str, int], ...]  # (target group ARN, weight)
TestKey = tuple[str, str, str]  # (api, lower-case label, lower-case secret): what a test rule matches


def path_regex(pattern: str) -> re.Pattern[str]:
    """An ALB ``path-pattern`` value as a regular expression (``*``: any characters, ``?``: exactly one)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z")


@dataclass(frozen=True)
class FixedResponse:
    """The listener's default action (AxonEcs: a 404), answered when no rule matches."""

    status: int = 404
    content_type: str = "text/plain"
    body: str = "Not Found"


@dataclass(frozen=True)
class ListenerView:
    production: Mapping[str, Weights] = field(default_factory=dict)  # api -> forward weights
    tests: Mapping[TestKey, Weights] = field(default_factory=dict)  # (api, label, secret) -> weights
    default: FixedResponse = field(default_factory=FixedResponse)
    unsupported: tuple[str, ...] = ()  # rule ARNs the local ALB does not route
    paths: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)  # api -> its rules' paths

    def target_groups(self) -> set[str]:
        return {arn for weights in (*self.production.values(), *self.tests.values()) for arn, _ in weights}


def forward_weights(actions: Sequence[Mapping[str, Any]]) -> Weights:
    """A rule's forward action as ``((target group ARN, weight), ...)``; a plain ``TargetGroupArn`` weighs 1."""
    weights: list[tuple[str, int]] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            weights.extend((str(g["TargetGroupArn"]), int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            weights.append((str(action["TargetGroupArn"]), 1))
    return tuple(weights)


def _default(actions: Sequence[Mapping[str, Any]]) -> FixedResponse:
    for action in actions:
        if action.get("Type") == "fixed-response":
            fixed = action.get("FixedResponseConfig") or {}
            return FixedResponse(
                int(fixed.get("StatusCode", 404)),
                str(fixed.get("ContentType") or "text/plain"),
                str(fixed.get("MessageBody") or ""),
            )
    return FixedResponse()


def _priority(rule: Mapping[str, Any]) -> int:
    priority = str(rule.get("Priority", ""))
    return int(priority) if priority.isdigit() else 1_000_000  # "default" is evaluated last


def describe_listener(elbv2: Any, listener_arn: str) -> ListenerView:
    """``DescribeRules``, every page, read as routes."""
    rules: list[dict[str, Any]] = []
    request: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = elbv2.describe_rules(**request)
        rules.extend(page["Rules"])
        if not page.get("NextMarker"):
            return read_listener(rules)
        request["Marker"] = page["NextMarker"]


def read_listener(rules: Sequence[Mapping[str, Any]]) -> ListenerView:
    """Classify every rule; for two rules with the same conditions the lower priority number wins, as on AWS."""
    production: dict[str, Weights] = {}
    tests: dict[TestKey, Weights] = {}
    paths: dict[str, tuple[re.Pattern[str], ...]] = {}
    default = FixedResponse()
    unsupported: list[str] = []
    for rule in sorted(rules, key=_priority):
        if rule.get("IsDefault"):
            default = _default(rule.get("Actions") or [])
            continue
        key = ecs_listener.conditions_key(rule.get("Conditions") or [])
        patterns = [values for field_, _, values in key if field_ == "path-pattern"]
        headers = {name: values for field_, name, values in key if field_ == "http-header"}
        pattern = patterns[0][0] if len(patterns) == 1 and len(patterns[0]) == 1 else ""
        match = _API_PATH.match(pattern)
        weights = forward_weights(rule.get("Actions") or [])
        if match is None or not weights or len(key) != 1 + len(headers):
            unsupported.append(str(rule.get("RuleArn")))
            continue
        api = match.group(1)
        if not headers:
            production.setdefault(api, weights)
        elif set(headers) == {_HEADER, _TOKEN} and all(len(v) == 1 for v in headers.values()):
            tests.setdefault((api, headers[_HEADER][0].lower(), headers[_TOKEN][0].lower()), weights)
        else:  # a version header without the rollout's secret, for one: not a rule axon creates
            unsupported.append(str(rule.get("RuleArn")))
            continue
        regex = path_regex(pattern)
        if regex not in paths.get(api, ()):
            paths[api] = (*paths.get(api, ()), regex)
    return ListenerView(production, tests, default, tuple(unsupported), paths)
