"""The Lambda catalogue (``axon/functions.py``) and the three places a workflow step touches.

Adding a step to the rollout touches exactly these, and nothing else:

1. its state in ``statemachines/rollout.asl.json`` (a Task invoking ``${<Step>FunctionArn}``);
2. its entry in ``axon.functions.WORKFLOW_FUNCTIONS``: its name, the permission sets its role gets and the step
   function it runs (its handler, ``lambdas.workflow.<name>``, is built from the entry; the CDK app and the local
   stack create the function from the entry);
3. the step function itself, ``(deps: Deps, state: RolloutState) -> RolloutState | Outcome`` in ``axon/rollout/``.

The tests below fail when those drift apart, or when a handler module or a step lives outside the catalogue.
"""

import importlib
import inspect
import json
import pkgutil
from typing import get_args

import pytest

import lambdas
from axon import names
from axon.functions import (
    ALL_FUNCTIONS,
    WORKFLOW_FUNCTIONS,
    WORKFLOW_HANDLERS,
    Grant,
    placeholders_in,
    render_definition,
    rollout_asl_text,
)
from lambdas import workflow

ROLLOUT_MODULES = ("intake", "prepare", "release", "recovery", "events", "state")  # every module of axon/rollout
STEP_RESULTS = {"RolloutState", "Outcome"}
SHARED_MODULES = {"_shared", "workflow"}  # lambdas/ modules that are not one function's handler


def _steps_in_code() -> set[str]:
    """Every function in ``axon/rollout/`` with a step's signature, as ``module.function`` paths."""
    found = set()
    for module_name in ROLLOUT_MODULES:
        module = importlib.import_module(f"axon.rollout.{module_name}")
        for name, member in inspect.getmembers(module, inspect.isfunction):
            if member.__module__ != module.__name__ or name.startswith("_"):
                continue
            parameters = list(inspect.signature(member).parameters.values())
            returns = set(str(member.__annotations__.get("return")).split(" | "))
            if [p.annotation for p in parameters] == ["Deps", "RolloutState"] and returns <= STEP_RESULTS:
                found.add(f"{module.__name__}.{name}")
    return found


def test_every_asl_state_has_a_catalogue_entry_and_every_entry_a_state() -> None:
    """Places 1 and 2: the ASL's placeholders are exactly the workflow entries'."""
    assert placeholders_in(rollout_asl_text()) == {f.placeholder for f in WORKFLOW_FUNCTIONS}


def test_every_workflow_entry_names_a_step_and_its_handler_is_built_from_it() -> None:
    """Places 2 and 3: each entry's step exists, and Lambda's handler string reaches a handler for it."""
    for function in WORKFLOW_FUNCTIONS:
        assert function.step is not None and function.step.startswith("axon.rollout."), function.name
        assert callable(workflow.resolve_step(function.step)), function.step
        assert function.handler == f"{WORKFLOW_HANDLERS}.{function.name}"
        module_name, _, attribute = function.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), function.handler


def test_every_step_function_in_the_rollout_is_in_the_catalogue() -> None:
    """Place 3 without place 2 would be a step no Lambda runs: every function with a step's signature is named."""
    rollout = importlib.import_module("axon.rollout")
    assert {info.name for info in pkgutil.iter_modules(rollout.__path__)} == set(ROLLOUT_MODULES)
    assert _steps_in_code() == {f.step for f in WORKFLOW_FUNCTIONS}


def test_no_handler_module_lives_outside_the_catalogue() -> None:
    """A step has no ``lambdas/<step>.py``; every other module in ``lambdas/`` is one catalogued function's handler
    (or AxonEcs's smoke-test function, created by its own stack)."""
    modules = {info.name for info in pkgutil.iter_modules(lambdas.__path__)}
    own_modules = {f.name for f in ALL_FUNCTIONS if f.step is None}
    assert modules == own_modules | SHARED_MODULES | {names.ECS_SMOKE_MODULE}
    for function in ALL_FUNCTIONS:
        module_name, _, attribute = function.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), function.handler


def test_the_workflow_module_has_a_handler_for_catalogued_steps_only() -> None:
    with pytest.raises(AttributeError, match="no workflow step"):
        workflow.on_upload  # noqa: B018 - a function of its own, not a step
    assert workflow.validate_bundle is workflow.validate_bundle  # built once per container


def test_every_grant_is_a_permission_set_of_the_cdk_app_and_every_function_has_some() -> None:
    from cdk_app.constructs.permissions import ControlPlaneAccess

    for grant in get_args(Grant):
        assert callable(getattr(ControlPlaneAccess, grant, None)), grant
    assert all(function.grants for function in ALL_FUNCTIONS)


def test_names_follow_the_convention() -> None:
    validate = WORKFLOW_FUNCTIONS[0]
    assert (validate.name, validate.logical_name) == ("validate_bundle", "ValidateBundle")
    assert validate.placeholder == "ValidateBundleFunctionArn"
    assert validate.function_name == "axon-validate-bundle"
    assert validate.handler == "lambdas.workflow.validate_bundle"
    assert validate.runs == "axon.rollout.prepare.validate"
    intake = next(f for f in ALL_FUNCTIONS if f.name == "on_upload")
    assert (intake.handler, intake.runs) == ("lambdas.on_upload.handler", "lambdas/on_upload.py")


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
