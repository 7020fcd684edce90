"""The ECS front door against moto: green is reachable before its smoke test only with the rollout's secret, only
``/apis/<api>/invocations`` is routed, rules made by earlier versions of axon are brought to the current shape,
and the JWT check rides on every production rule."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from axon import names
from axon.errors import TransientError
from axon.platforms.base import DeploymentPhase
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs.config import JwtAuth
from axon.platforms.ecs.listener import Listener
from axon.platforms.ecs.smoke import MAX_BODY_BYTES, SmokeFunctionMissingError
from axon.platforms.errors import PlatformError
from tests.functional.platforms.conftest import World, client

SMOKE = "smoke_test: {payload: {x: 1}}\n"
CANARY = "rollout: {strategy: canary, canary_percent: 10, bake_seconds: 0}\n"


def _test_rule(world: World) -> dict[str, Any]:
    (rule,) = [r for r in world.rules() if ecs_listener.header_condition(r["Conditions"], ecs_listener.VERSION_HEADER)]
    return rule


def test_the_smoke_test_sends_the_secret_of_the_test_rule_and_keeps_it_across_calls(world: World) -> None:
    version = world.version("v1", SMOKE)
    world.platform.deploy(version, None)
    token = ecs_listener.header_condition(_test_rule(world)["Conditions"], ecs_listener.TEST_TOKEN_HEADER)
    assert token is not None
    world.platform.smoke_test(version, b'{"x": 1}', "application/json")
    world.platform.smoke_test(version, b'{"x": 1}', "application/json")  # a retried VerifyVersion
    assert [
        (path, h[ecs_listener.VERSION_HEADER], h[ecs_listener.TEST_TOKEN_HEADER])
        for path, h, _ in world.ecs.model.requests
    ] == [
        ("/invocations", "v1", token),
    ] * 2
    assert ecs_listener.header_condition(_test_rule(world)["Conditions"], ecs_listener.TEST_TOKEN_HEADER) == token


def test_each_rollout_gets_its_own_secret(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2", CANARY)
    world.platform.deploy(v2, v1)
    first = ecs_listener.header_condition(_test_rule(world)["Conditions"], ecs_listener.TEST_TOKEN_HEADER)
    world.platform.rollback(v2, v1)
    world.platform.deploy(v2, v1)  # the same label again, e.g. after a failed attempt
    second = ecs_listener.header_condition(_test_rule(world)["Conditions"], ecs_listener.TEST_TOKEN_HEADER)
    assert first and second and first != second


@pytest.mark.parametrize("internal", [True, False])
def test_the_smoke_test_goes_through_the_smoke_function_whatever_the_scheme(world: World, internal: bool) -> None:
    version = world.version("v1", SMOKE)
    world.platform.deploy(version, None)
    world.platform.config = world.config.model_copy(update={"internal": internal, "url": "https://unused.example"})
    assert world.platform.smoke_test(version, b'{"x": 1}', "application/json") == b'{"ok": true}'
    ((path, headers, body),) = world.ecs.model.requests  # sent by axon-ecs-smoke to its configured target
    assert (path, headers[ecs_listener.VERSION_HEADER], body) == ("/invocations", "v1", b'{"x": 1}')


def test_a_missing_smoke_function_is_a_coded_error(world: World) -> None:
    version = world.version("v1", SMOKE)
    world.platform.deploy(version, None)
    client("lambda").delete_function(FunctionName=names.ECS_SMOKE_FUNCTION)
    with pytest.raises(SmokeFunctionMissingError, match="deploy the current AxonEcs") as raised:
        world.platform.smoke_test(version, b"1", "application/json")
    assert raised.value.code == "platform.ecs_smoke_missing"
    assert world.ecs.model.requests == []


def test_a_throttled_or_failing_smoke_function_is_transient(world: World) -> None:
    version = world.version("v1", SMOKE)
    world.platform.deploy(version, None)
    # The function's runtime fails (what an ENI set-up timeout or a crash looks like to the caller).
    client("lambda").update_function_configuration(FunctionName=names.ECS_SMOKE_FUNCTION, Environment={"Variables": {}})
    with pytest.raises(PlatformError, match="refused"):  # no target configured: refused, not retried
        world.platform.smoke_test(version, b"1", "application/json")

    class Throttled:
        def invoke(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "Invoke")

    world.platform.lambda_client = Throttled()  # type: ignore[assignment]
    with pytest.raises(TransientError):
        world.platform.smoke_test(version, b"1", "application/json")


def test_an_oversized_answer_is_cut_at_the_bound(world: World) -> None:
    version = world.version("v1", SMOKE)
    world.platform.deploy(version, None)
    world.ecs.model.body = b"x" * (MAX_BODY_BYTES + 10)
    assert world.platform.smoke_test(version, b"1", "application/json") == b"x" * MAX_BODY_BYTES


def _legacy_rule(world: World, priority: int, conditions: list[dict[str, Any]], group: str) -> None:
    """A rule as an earlier axon made it: path /apis/iris/*, and for a test rule, the version header alone."""
    client("elbv2").create_rule(
        ListenerArn=world.config.listener_arn,
        Priority=priority,
        Conditions=conditions,
        Actions=ecs_listener.forward_actions([(group, 1)]),
    )


def test_rules_of_an_earlier_axon_are_found_and_brought_to_the_current_shape(world: World) -> None:
    v1 = world.live("v1")
    (production,) = world.rules()
    legacy_path = [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": [ecs_listener.legacy_path_pattern("iris")]}}
    ]
    client("elbv2").modify_rule(RuleArn=production["RuleArn"], Conditions=legacy_path)
    v2 = world.version("v2", CANARY)
    v2_group = world.platform._listener.ensure_target_group(v2, world.config.vpc_id)
    version_only = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Axon-Version", "Values": ["v2"]}}
    _legacy_rule(world, int(production["Priority"]) - 1, [*legacy_path, version_only], v2_group)
    world.platform.deploy(v2, v1)  # replaces the secret-less test rule
    test_rule = _test_rule(world)
    assert ecs_listener.header_condition(test_rule["Conditions"], ecs_listener.TEST_TOKEN_HEADER) is not None
    assert len(world.rules()) == 2
    status = world.platform.deployment_status(v2, v1)  # the first weight change narrows the production path
    assert (status.phase, world.weights()) == (DeploymentPhase.IN_PROGRESS, [("v1", 90), ("v2", 10)])
    (narrowed,) = [r for r in world.rules() if r["RuleArn"] == production["RuleArn"]]
    assert ecs_listener.conditions_key(narrowed["Conditions"]) == ecs_listener.conditions_key(
        ecs_listener.production_conditions("iris")
    )


def test_with_jwt_auth_the_production_rule_checks_the_token_and_the_test_rule_does_not() -> None:
    """moto refuses the ``jwt-validation`` action type, so the requests are checked as sent."""
    auth = JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks")
    sent: list[tuple[str, dict[str, Any]]] = []

    class Elbv2:
        def describe_rules(self, **_: Any) -> dict[str, Any]:
            return {"Rules": [{"RuleArn": "default", "Priority": "default", "Conditions": [], "Actions": []}]}

        def create_rule(self, **request: Any) -> None:
            sent.append(("create", request))

        def modify_rule(self, **request: Any) -> None:
            sent.append(("modify", request))

    listener = Listener(Elbv2(), "arn:listener", auth)  # type: ignore[arg-type]
    listener.create_rule("iris", ecs_listener.production_conditions("iris"), [("green", 100)], production=True)
    listener.create_rule("iris", ecs_listener.test_conditions("iris", "v2", "5ec"), [("green", 1)], production=False)
    listener.set_weights("iris", "rule", [("blue", 90), ("green", 10)])
    assert [(kind, [a["Type"] for a in request["Actions"]]) for kind, request in sent] == [
        ("create", ["jwt-validation", "forward"]),
        ("create", ["forward"]),  # the test rule's secret is the control plane's credential
        ("modify", ["jwt-validation", "forward"]),
    ]
