"""What the harness injects and what it expects: faults, call sites, error shapes and expected end states, as data.

A call site is one AWS call a Lambda makes during a clean rollout, keyed by (function, service, operation, ordinal
of that operation within the invocation); it is injected in the first invocation where it appears. Every table
here is data: a new fault or service is a new row, never a special case in the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    RETRYABLE = "retryable"  # the call raises a throttling/5xx ClientError once (botocore's retries gave up)
    PERMANENT = "permanent"  # the call raises a non-retryable ClientError once (access denied)
    CRASH = "crash"  # the call succeeds, then the Lambda process dies before returning (Runtime.ExitError)
    TWICE = "twice"  # the invocation is delivered twice: the handler runs twice, the caller sees the second result


class Outcome(StrEnum):
    """How the rolled-out upload ended, as the invariants' end-state check classifies it."""

    NEW_LIVE = "new live"  # the new version is live and serving
    OLD_KEPT = "old kept"  # the new version failed or rolled back; the previous version (or nothing) still serves
    BROKEN = "broken"  # anything else: lost, stuck, half-done


# The end states each fault may lead to. A transient fault, a crash or a duplicate delivery must not change the
# result; a permanent error may stop the rollout only cleanly (before the commit point) or not at all (after it).
EXPECTED: Mapping[Fault, frozenset[Outcome]] = {
    Fault.RETRYABLE: frozenset({Outcome.NEW_LIVE}),
    Fault.PERMANENT: frozenset({Outcome.NEW_LIVE, Outcome.OLD_KEPT}),
    Fault.CRASH: frozenset({Outcome.NEW_LIVE}),
    Fault.TWICE: frozenset({Outcome.NEW_LIVE}),
}


@dataclass(frozen=True)
class ErrorShape:
    """A botocore error response: the code a service answers and its HTTP status."""

    code: str
    status: int


# What each service answers when it throttles or fails inside (botocore's retryable codes); the default covers the
# rest. Errors are raised as the client's modeled exception class for the code, as botocore raises them.
RETRYABLE_ERRORS: Mapping[str, ErrorShape] = {
    "dynamodb": ErrorShape("ProvisionedThroughputExceededException", 400),
    "s3": ErrorShape("SlowDown", 503),
    "ecs": ErrorShape("ServerException", 500),
    "elbv2": ErrorShape("Throttling", 400),
    "cloudwatch": ErrorShape("Throttling", 400),
    "sagemaker-runtime": ErrorShape("ServiceUnavailable", 503),
    "stepfunctions": ErrorShape("ThrottlingException", 400),
    "events": ErrorShape("InternalException", 500),
}
DEFAULT_RETRYABLE = ErrorShape("ThrottlingException", 400)
PERMANENT_ERRORS: Mapping[str, ErrorShape] = {
    "s3": ErrorShape("AccessDenied", 403),
    "elbv2": ErrorShape("AccessDenied", 403),
    "cloudwatch": ErrorShape("AccessDenied", 403),
}
DEFAULT_PERMANENT = ErrorShape("AccessDeniedException", 400)


def error_shape(fault: Fault, service: str) -> ErrorShape:
    if fault is Fault.RETRYABLE:
        return RETRYABLE_ERRORS.get(service, DEFAULT_RETRYABLE)
    if fault is Fault.PERMANENT:
        return PERMANENT_ERRORS.get(service, DEFAULT_PERMANENT)
    raise ValueError(f"{fault} raises no ClientError")


@dataclass(frozen=True, order=True)
class CallSite:
    """One AWS call of a Lambda; ``invocation`` is the first invocation of the function (1-based) where it appears."""

    function: str
    service: str
    operation: str
    ordinal: int
    invocation: int = 1

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.function, self.service, self.operation, self.ordinal)

    def __str__(self) -> str:
        return f"{self.function}[{self.invocation}] {self.service}:{self.operation}#{self.ordinal}"


@dataclass(frozen=True)
class Injection:
    """One fault at one call site; ``twice`` applies to the whole invocation the call site is in."""

    site: CallSite
    fault: Fault

    def __str__(self) -> str:
        return f"{self.fault} @ {self.site}"


@dataclass(frozen=True)
class Violation:
    """An invariant broken by one run; ``invariant`` is I1..I5, or ``outcome`` for an unexpected end state."""

    invariant: str
    detail: str
