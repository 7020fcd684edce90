import json

import pytest

from axon.functions import (
    ALL_FUNCTIONS,
    WORKFLOW_FUNCTIONS,
    placeholders_in,
    render_definition,
    rollout_asl_text,
)


def test_asl_placeholders_are_exactly_the_workflow_functions() -> None:
    assert placeholders_in(rollout_asl_text()) == {f.placeholder for f in WORKFLOW_FUNCTIONS}


def test_every_function_has_a_handler_module() -> None:
    import importlib

    for function in ALL_FUNCTIONS:
        module_name, _, attribute = function.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), function.handler


def test_names_follow_the_file_convention() -> None:
    validate = WORKFLOW_FUNCTIONS[0]
    assert (validate.module, validate.logical_name) == ("validate_bundle", "ValidateBundle")
    assert validate.placeholder == "ValidateBundleFunctionArn"
    assert validate.function_name == "axon-validate-bundle"
    assert validate.handler == "lambdas.validate_bundle.handler"


def test_render_substitutes_every_placeholder_and_refuses_a_missing_one() -> None:
    arns = {
        f.placeholder: f"arn:aws:lambda:us-east-1:123456789012:function:{f.function_name}" for f in WORKFLOW_FUNCTIONS
    }
    definition = render_definition(rollout_asl_text(), arns)
    assert "${" not in json.dumps(definition)
    assert definition["StartAt"] == "ValidateBundle"
    with pytest.raises(KeyError, match="ValidateBundleFunctionArn"):
        render_definition(rollout_asl_text(), {k: v for k, v in arns.items() if not k.startswith("Validate")})


RETRIED_TRANSIENTS = {"TransientError", "Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout"}


def test_every_task_catches_into_handle_failure_and_handle_failure_catches_its_own() -> None:
    states = json.loads(rollout_asl_text())["States"]
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        catches = state.get("Catch", [])
        if name == "HandleFailure":
            # Its own failure ends the execution FAILED, which the execution-status rule cleans up after.
            assert catches == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.cleanup_error", "Next": "CleanupFailed"}
            ]
            assert states["CleanupFailed"]["Type"] == "Fail"
        else:
            assert catches == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "HandleFailure"}]


def test_every_task_retries_transient_errors_and_crashed_lambdas() -> None:
    """Steps are idempotent, so a throttled call or a Lambda that died mid-step is retried, never a failure."""
    for name, state in json.loads(rollout_asl_text())["States"].items():
        if state["Type"] == "Task":
            retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
            assert retried >= RETRIED_TRANSIENTS | {"Lambda.ServiceException"}, name


def test_after_the_commit_point_nothing_leads_to_a_failed_execution() -> None:
    """CompleteRollout retries any error; if it still fails, HandleFailure sees the version live and the execution
    succeeds: the failure is recorded, the live version is never rolled back."""
    states = json.loads(rollout_asl_text())["States"]
    assert states["FinalizeRollout"]["Next"] == "CompleteRollout"
    complete = states["CompleteRollout"]
    assert complete["Retry"][-1]["ErrorEquals"] == ["States.ALL"] and complete["Next"] == "RolloutSucceeded"
    assert states["HandleFailure"]["Next"] == "FailureHandled"
    assert states["FailureHandled"]["Choices"] == [
        {"Variable": "$.live", "BooleanEquals": True, "Next": "RolloutSucceeded"}
    ]
