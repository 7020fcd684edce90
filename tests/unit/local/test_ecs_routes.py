"""The local ALB routes as the listener's rules say: green only with the rollout's secret, only the inference
path, the listener's default action for everything else."""

from __future__ import annotations

import asyncio
from typing import Any

from axon.platforms.ecs import listener as ecs_listener
from axon_local.dataplane.router import Router
from axon_local.dataplane.stats import StatsBook
from axon_local.ecs.alb import LocalAlb, RouteTable
from axon_local.ecs.listener import path_regex, read_listener

TOKEN = "0123456789abcdef0123456789abcdef"


def _rule(priority: int, conditions: list[dict[str, Any]], group: str) -> dict[str, Any]:
    """A rule as DescribeRules returns it."""
    return {
        "RuleArn": f"rule-{priority}",
        "Priority": str(priority),
        "IsDefault": False,
        "Conditions": conditions,
        "Actions": ecs_listener.forward_actions([(group, 1)]),
    }


DEFAULT = {
    "RuleArn": "default",
    "Priority": "default",
    "IsDefault": True,
    "Conditions": [],
    "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "none"}}],
}


def _table(rules: list[dict[str, Any]]) -> tuple[RouteTable, Router, Router]:
    view = read_listener(rules)
    production, green = Router(StatsBook()), Router(StatsBook())
    tests = {key: green for key in view.tests}
    return RouteTable(production, frozenset(view.production), tests, view.default, view.paths), production, green


RULES = [
    DEFAULT,
    _rule(1, ecs_listener.test_conditions("iris", "v2", TOKEN), "green"),
    _rule(2, ecs_listener.production_conditions("iris"), "blue"),
]


def test_green_is_reached_only_with_the_version_and_the_rollouts_secret() -> None:
    table, production, green = _table(RULES)
    path = "/apis/iris/invocations"
    assert table.router_for("iris", path, {"x-axon-version": "v2", "x-axon-test-token": TOKEN}) is green
    assert table.router_for("iris", path, {"x-axon-version": "V2", "x-axon-test-token": TOKEN.upper()}) is green
    assert table.router_for("iris", path, {"x-axon-version": "v2"}) is production  # the header alone: production
    assert table.router_for("iris", path, {"x-axon-version": "v2", "x-axon-test-token": "guess"}) is production
    assert table.router_for("iris", path, {}) is production


def test_only_the_inference_path_is_routed() -> None:
    table, _, _ = _table(RULES)
    for path in ("/apis/iris/metrics", "/apis/iris/ping", "/apis/iris/invocations/x", "/apis/iris/"):
        assert table.router_for("iris", path, {}) is None, path
        assert table.router_for("iris", path, {"x-axon-version": "v2", "x-axon-test-token": TOKEN}) is None, path


def test_a_version_header_rule_without_a_secret_is_not_routed() -> None:
    version_only = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Axon-Version", "Values": ["v2"]}}
    view = read_listener([DEFAULT, _rule(1, [*ecs_listener.production_conditions("iris"), version_only], "green")])
    assert (view.tests, view.unsupported) == ({}, ("rule-1",))


def test_alb_path_patterns_match_as_on_aws() -> None:
    assert path_regex("/apis/iris/*").match("/apis/iris/metrics")  # what rules of an earlier axon routed
    assert path_regex("/apis/iris/invocations").match("/apis/iris/invocations")
    assert not path_regex("/apis/iris/invocations").match("/apis/iris/invocationsX")
    assert path_regex("/apis/ir?s/x").match("/apis/iris/x") and not path_regex("/a.b").match("/axb")


def test_the_local_alb_answers_metrics_with_the_listeners_default_action() -> None:
    table, _, _ = _table(RULES)
    alb = LocalAlb(lambda: table, lambda: table, port=80, retry_window_seconds=0)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/apis/iris/metrics", "headers": [], "query_string": b""}
    asyncio.run(alb(scope, receive, send))
    asyncio.run(alb.aclose())
    assert sent[0]["status"] == 404 and sent[1]["body"] == b"none"
