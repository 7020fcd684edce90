"""The runtime hooks the fault harness stands on: a dying process, the current invocation, handler middleware,
and Lambda's two retries of a failed asynchronous (EventBridge) invocation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from axon_local.patches import moto_patches
from axon_local.patches.lambda_runtime import Invocation, current_invocation, handler_middleware
from tests.faults import handlers
from tests.functional.harness.conftest import SFN_CONFIG, any_zip, client, create_role


@pytest.fixture
def function(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Creates a function running a handler of ``tests.faults.handlers``; returns its ARN."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    handlers.calls.clear()
    with mock_aws(config=SFN_CONFIG), moto_patches():
        role = create_role(client("iam"))

        def create(handler: str) -> str:
            created = client("lambda").create_function(
                FunctionName=handler,
                Runtime="python3.12",
                Role=role,
                Handler=f"tests.faults.handlers.{handler}",
                Code={"ZipFile": any_zip()},
            )
            return str(created["FunctionArn"])

        yield create


def _invoke(name: str, payload: Any) -> tuple[dict[str, Any], Any]:
    response = client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload))
    return response, json.loads(response["Payload"].read())


def test_a_dying_process_is_a_runtime_exit_error_that_handler_code_cannot_catch(
    function: Callable[[str], str],
) -> None:
    function("dies")
    response, payload = _invoke("dies", {"n": 1})
    assert "FunctionError" in response
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Runtime exited with error: signal: killed")


def test_the_current_invocation_is_known_inside_the_handler_only(function: Callable[[str], str]) -> None:
    function("whoami")
    _, payload = _invoke("whoami", {"n": 1})
    assert (payload["function"], payload["event"]) == ("whoami", {"n": 1})
    assert current_invocation() is None


def test_a_middleware_sees_each_invocation_and_may_run_the_handler_twice(function: Callable[[str], str]) -> None:
    function("whoami")
    seen: list[Invocation] = []

    def twice(invocation: Invocation, call: Callable[[], Any]) -> Any:
        seen.append(invocation)
        call()
        return call()

    with handler_middleware(twice):
        with pytest.raises(RuntimeError), handler_middleware(twice):
            pass  # one middleware at a time
        _, payload = _invoke("whoami", {"n": 2})
    assert [i.function_name for i in seen] == ["whoami"] and handlers.calls == [{"n": 2}, {"n": 2}]
    assert payload["request_id"] == seen[0].request_id
    _invoke("whoami", {"n": 3})
    assert len(seen) == 1  # removed on exit


def _put_event(fail_times: int) -> None:
    client("events").put_events(
        Entries=[{"Source": "test.faults", "DetailType": "t", "Detail": json.dumps({"fail_times": fail_times})}]
    )


def _route_events_to(arn: str) -> None:
    events = client("events")
    events.put_rule(Name="to-lambda", EventPattern=json.dumps({"source": ["test.faults"]}))
    events.put_targets(Rule="to-lambda", Targets=[{"Id": "fn", "Arn": arn}])


@pytest.mark.parametrize(("fail_times", "deliveries"), [(0, 1), (1, 2), (2, 3), (5, 3)])
def test_a_failed_asynchronous_invocation_is_retried_twice_then_dropped(
    function: Callable[[str], str], fail_times: int, deliveries: int
) -> None:
    _route_events_to(function("fails_until"))
    _put_event(fail_times)
    assert len(handlers.calls) == deliveries
    assert len({json.dumps(event) for event in handlers.calls}) == 1  # the same event each time


def test_the_functions_event_invoke_config_bounds_the_retries(function: Callable[[str], str]) -> None:
    _route_events_to(function("fails_until"))
    client("lambda").put_function_event_invoke_config(FunctionName="fails_until", MaximumRetryAttempts=0)
    _put_event(5)
    assert len(handlers.calls) == 1
