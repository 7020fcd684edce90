"""The handlers of the workflow's steps, built from the catalogue (``axon.functions.WORKFLOW_FUNCTIONS``).

Lambda invokes ``lambdas.workflow.<name>``: it imports this module and reads the attribute, which
:func:`__getattr__` builds from the entry's ``step`` on first use. So a step needs no handler module of its own,
and a container imports only its own step's module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from axon.deps import Deps, default_deps
from axon.functions import WORKFLOW_FUNCTIONS
from axon.registry import VersionStatus
from axon.rollout.state import Outcome, RolloutState
from lambdas._shared import logger, metrics, tracer, transient_errors

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
Step = Callable[[Deps, RolloutState], RolloutState | Outcome]
_STEPS = {function.name: function.step for function in WORKFLOW_FUNCTIONS if function.step}
_OUTCOME_METRIC = {
    VersionStatus.LIVE: "RolloutSucceeded",
    VersionStatus.FAILED: "RolloutFailed",
    VersionStatus.ROLLED_BACK: "RolloutRolledBack",
}


def record_outcome(outcome: Outcome) -> None:
    """Publish the rollout's end as EMF (flushed here: steps that end nothing publish no empty metric set)."""
    metrics.add_metric(name=_OUTCOME_METRIC[outcome.status], unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RolloutDurationSeconds", unit=MetricUnit.Seconds, value=outcome.duration_seconds)
    metrics.flush_metrics()


def step_handler(step: Step) -> Handler:
    """A Lambda handler around one workflow step: the rollout's execution name is the correlation id."""

    @tracer.capture_lambda_handler(capture_response=False)
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        state = parse(event=event, model=RolloutState)
        logger.set_correlation_id(state.execution)
        logger.append_keys(api=state.api, seq=state.seq)
        with transient_errors():
            result = step(default_deps(), state)
        if isinstance(result, Outcome):
            record_outcome(result)
            logger.info("rollout ended", extra={"status": result.status.value})
            return state.out()
        return result.out()

    wrapped: Handler = handler
    return wrapped


def resolve_step(path: str) -> Step:
    """The step function a catalogue entry names: ``axon.rollout.<module>.<function>``."""
    module, _, name = path.rpartition(".")
    return cast(Step, getattr(importlib.import_module(module), name))


def __getattr__(name: str) -> Handler:
    """The handler of the workflow step ``name``, built once per container (module attributes cache it)."""
    path = _STEPS.get(name)
    if path is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}: no workflow step is named so")
    handler = step_handler(resolve_step(path))
    globals()[name] = handler
    return handler
