"""Patch 1: the handler named by ``Handler`` runs in-process behind the Invoke API."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

import pytest

from axon_local.patches import POWERTOOLS_DEFAULTS
from tests.functional.harness.conftest import any_zip, client, create_function


def invoke(lambda_client: Any, name: str, payload: Any) -> tuple[Any, str | None]:
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_invoke_returns_the_handlers_json_with_context_and_environment(lambda_client: Any, role_arn: str) -> None:
    arn = create_function(lambda_client, role_arn, "echo", "echo", {"GREETING": "hello"})

    body, function_error = invoke(lambda_client, "echo", {"n": 1})

    assert function_error is None
    assert body["event"] == {"n": 1}
    assert body["function_name"] == body["env_function_name"] == "echo"
    assert body["invoked_function_arn"] == arn
    assert body["memory_limit_in_mb"] == "256"
    assert 0 < body["remaining_ms"] <= 30_000
    assert body["greeting"] == "hello"
    assert "GREETING" not in os.environ, "the function's environment is restored after the call"


def test_an_exception_becomes_lambdas_error_payload_named_after_its_class(lambda_client: Any, role_arn: str) -> None:
    create_function(lambda_client, role_arn, "fail", "fail")

    body, function_error = invoke(lambda_client, "fail", {"why": "testing"})

    assert function_error is not None
    assert body["errorType"] == "FlakyError"
    assert body["errorMessage"] == "always fails: testing"
    assert body["stackTrace"] and "raise FlakyError" in "".join(body["stackTrace"])
    assert body["requestId"]


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("missing_function", "Runtime.HandlerNotFound"),
        ("unserializable", "Runtime.MarshalError"),
    ],
)
def test_runtime_faults_use_lambdas_error_types(
    lambda_client: Any, role_arn: str, handler: str, error_type: str
) -> None:
    create_function(lambda_client, role_arn, "faulty", handler)

    body, function_error = invoke(lambda_client, "faulty", {})

    assert function_error is not None
    assert body["errorType"] == error_type


def test_an_unimportable_module_is_runtime_import_module_error(lambda_client: Any, role_arn: str) -> None:
    lambda_client.create_function(
        FunctionName="ghost",
        Runtime="python3.12",
        Role=role_arn,
        Handler="lambdas.no_such_module.handler",
        Code={"ZipFile": any_zip()},
    )

    body, function_error = invoke(lambda_client, "ghost", {})

    assert function_error is not None
    assert body["errorType"] == "Runtime.ImportModuleError"


def test_powertools_logger_metrics_and_tracer_decorators_work(lambda_client: Any, role_arn: str) -> None:
    lambda_client.create_function(
        FunctionName="instrumented",
        Runtime="python3.12",
        Role=role_arn,
        Handler="tests.functional.harness.instrumented.handler",
        Code={"ZipFile": any_zip()},
    )

    body, function_error = invoke(lambda_client, "instrumented", {})

    assert function_error is None, body
    assert body == {"function_name": "instrumented", "namespace": POWERTOOLS_DEFAULTS["POWERTOOLS_METRICS_NAMESPACE"]}


def test_each_invocation_is_logged_to_the_functions_log_group(lambda_client: Any, role_arn: str) -> None:
    create_function(lambda_client, role_arn, "echo", "echo")
    invoke(lambda_client, "echo", {})

    logs = client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/echo")["events"]
    assert any(event["message"].startswith("START RequestId:") for event in events)


def test_what_a_handler_prints_goes_to_its_log_group_not_the_terminal(
    lambda_client: Any, role_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from axon_local.patches.lambda_runtime import _StdoutRouter

    # pytest swaps sys.stdout around each test phase; put the patch's router back over a terminal we can read.
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stdout", _StdoutRouter(terminal))
    create_function(lambda_client, role_arn, "chatty", "chatty")
    print("the terminal still works")
    body, _ = invoke(lambda_client, "chatty", {"n": 7})
    assert body == "done"
    assert terminal.getvalue() == "the terminal still works\n"
    events = client("logs").filter_log_events(logGroupName="/aws/lambda/chatty")["events"]
    messages = [e["message"] for e in events]
    assert any("handled 7" in m for m in messages), messages
