"""Powertools set-up shared by every handler: Logger, Tracer and Metrics, and the step-handler factory.

Kept out of ``axon`` so the core stays free of Lambda-only packages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from axon import names
from axon.aws import is_transient
from axon.deps import Deps, default_deps
from axon.errors import TransientError
from axon.registry import VersionStatus
from axon.rollout.state import Outcome, RolloutState

logger = Logger(service="axon")
tracer = Tracer(service="axon")
metrics = Metrics(namespace=names.METRIC_NAMESPACE, service="axon")

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
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


@contextmanager
def transient_errors() -> Iterator[None]:
    """Report an SDK error that may pass as ``TransientError``: the state machine (or the event's redelivery)
    retries it, where any other error fails the rollout."""
    try:
        yield
    except Exception as error:
        cause: BaseException | None = error
        while cause is not None:  # also when a platform wrapped the SDK's error in its own
            if is_transient(cause):
                raise TransientError(f"{type(cause).__name__}: {cause}") from error
            cause = cause.__cause__
        raise


def step_handler(step: Callable[[Deps, RolloutState], RolloutState | Outcome]) -> Handler:
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
