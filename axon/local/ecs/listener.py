"""The listener's rules (as ``DescribeRules`` returns them) read as the routes the local ALB serves.

``axon.platforms.ecs`` creates two kinds of rule per API, and the local ALB evaluates exactly those, with the
ALB's precedence: the test rule (path ``/apis/<api>/*`` plus ``X-Axon-Version: <label>``, the lower priority
number) wins for a request carrying that header; otherwise the production rule (the path alone) forwards by its
target-group weights; a request no rule matches gets the listener's default action. Rules of any other shape are
reported, not routed (:attr:`ListenerView.unsupported`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from axon.platforms import ecs_specs as specs

_API_PATH = re.compile(r"^/apis/([a-z0-9-]{1,40})/\*$")  # ecs_specs.path_pattern, for an API name
_HEADER = specs.VERSION_HEADER.lower()

Weights = tuple[tuple[str, int], ...]  # (target group ARN, weight)


@dataclass(frozen=True)
class FixedResponse:
    """The listener's default action (AxonEcs: a 404), answered when no rule matches."""

    status: int = 404
    content_type: str = "text/plain"
    body: str = "Not Found"


@dataclass(frozen=True)
class ListenerView:
    production: Mapping[str, Weights] = field(default_factory=dict)  # api -> forward weights
    tests: Mapping[tuple[str, str], Weights] = field(default_factory=dict)  # (api, lower-case label) -> weights
    default: FixedResponse = field(default_factory=FixedResponse)
    unsupported: tuple[str, ...] = ()  # rule ARNs the local ALB does not route

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


def read_listener(rules: Sequence[Mapping[str, Any]]) -> ListenerView:
    """Classify every rule; for two rules with the same conditions the lower priority number wins, as on AWS."""
    production: dict[str, Weights] = {}
    tests: dict[tuple[str, str], Weights] = {}
    default = FixedResponse()
    unsupported: list[str] = []
    for rule in sorted(rules, key=_priority):
        if rule.get("IsDefault"):
            default = _default(rule.get("Actions") or [])
            continue
        key = specs.conditions_key(rule.get("Conditions") or [])
        paths = [values for field_, _, values in key if field_ == "path-pattern"]
        headers = [(name, values) for field_, name, values in key if field_ == "http-header"]
        match = _API_PATH.match(paths[0][0]) if len(paths) == 1 and len(paths[0]) == 1 else None
        weights = forward_weights(rule.get("Actions") or [])
        if match is None or not weights or len(key) != 1 + len(headers):
            unsupported.append(str(rule.get("RuleArn")))
        elif not headers:
            production.setdefault(match.group(1), weights)
        elif len(headers) == 1 and headers[0][0] == _HEADER and len(headers[0][1]) == 1:
            tests.setdefault((match.group(1), headers[0][1][0].lower()), weights)
        else:
            unsupported.append(str(rule.get("RuleArn")))
    return ListenerView(production, tests, default, tuple(unsupported))
