"""Powertools set-up shared by every handler: Logger, Tracer and Metrics, and the transient-error rule.

Kept out of ``axon`` so the core stays free of Lambda-only packages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer

from axon import names
from axon.aws import is_transient
from axon.errors import TransientError

logger = Logger(service="axon")
tracer = Tracer(service="axon")
metrics = Metrics(namespace=names.METRIC_NAMESPACE, service="axon")


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
