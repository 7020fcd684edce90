"""Patches 1 and 5 under the Step Functions interpreter: Retry/Catch match the error type; waits are scaled."""

from __future__ import annotations

import json
import time
from typing import Any

from moto import mock_aws

from axon_local.patches import moto_patches
from tests.functional.harness.conftest import SFN_CONFIG, client, create_function, create_role


def definition(flaky_arn: str, fail_arn: str, interval_seconds: int = 600, wait_seconds: int = 3600) -> dict[str, Any]:
    return {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": flaky_arn, "Payload.$": "$"},
                "ResultSelector": {"attempts.$": "$.Payload.attempts"},
                "ResultPath": "$.flaky",
                "Retry": [
                    {
                        "ErrorEquals": ["FlakyError"],
                        "IntervalSeconds": interval_seconds,
                        "BackoffRate": 2,
                        "MaxAttempts": 2,
                    }
                ],
                "Next": "Bake",
            },
            "Bake": {"Type": "Wait", "Seconds": wait_seconds, "Next": "Fails"},
            "Fails": {
                "Type": "Task",
                "Resource": fail_arn,
                "Catch": [{"ErrorEquals": ["FlakyError"], "ResultPath": "$.caught", "Next": "Handled"}],
                "Next": "Handled",
            },
            "Handled": {"Type": "Succeed"},
        },
    }


def wait_for_execution(sfn: Any, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {arn} still running after {timeout}s")


def test_retry_catch_and_a_one_hour_wait_complete_at_once(lambda_client: Any, role_arn: str) -> None:
    flaky = create_function(lambda_client, role_arn, "flaky", "flaky")
    fail = create_function(lambda_client, role_arn, "fail", "fail")
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name="harness", definition=json.dumps(definition(flaky, fail)), roleArn=role_arn
    )["stateMachineArn"]

    started = time.monotonic()
    execution_arn = sfn.start_execution(
        stateMachineArn=machine, name="run-1", input=json.dumps({"key": "run-1", "fail_times": 2, "why": "caught"})
    )["executionArn"]
    execution = wait_for_execution(sfn, execution_arn)

    assert execution["status"] == "SUCCEEDED", execution
    assert time.monotonic() - started < 15, "600 s + 1200 s of back-off and a 3600 s wait must not be slept"
    output = json.loads(execution["output"])
    assert output["flaky"] == {"attempts": 3}, "two FlakyError retries, then success"
    assert output["caught"]["Error"] == "FlakyError"
    assert json.loads(output["caught"]["Cause"])["errorMessage"] == "always fails: caught"


def test_a_small_wait_scale_shortens_waits_and_back_off_without_skipping_them() -> None:
    with mock_aws(config=SFN_CONFIG), moto_patches(wait_scale=0.05):
        lambda_client, sfn = client("lambda"), client("stepfunctions")
        role_arn = create_role(client("iam"))
        flaky = create_function(lambda_client, role_arn, "flaky", "flaky")
        fail = create_function(lambda_client, role_arn, "fail", "fail")
        machine = sfn.create_state_machine(
            name="scaled", definition=json.dumps(definition(flaky, fail, 1, 2)), roleArn=role_arn
        )["stateMachineArn"]

        started = time.monotonic()
        execution_arn = sfn.start_execution(
            stateMachineArn=machine, name="run-1", input=json.dumps({"key": "scaled", "fail_times": 1, "why": "x"})
        )["executionArn"]
        execution = wait_for_execution(sfn, execution_arn)
        elapsed = time.monotonic() - started

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["flaky"] == {"attempts": 2}
    assert 0.15 <= elapsed < 15, "1 s of back-off and a 2 s wait take 0.05 s and 0.1 s, not 0 and not 3 s"
