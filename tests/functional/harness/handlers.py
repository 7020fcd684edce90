"""Tiny Lambda handlers, one behaviour each, run in-process by the patched moto Lambda."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import boto3

received: list[Any] = []
_attempts: Counter[str] = Counter()


class FlakyError(Exception):
    """A custom error type for Retry/Catch to match by name."""


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "function_name": context.function_name,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "env_function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
    }


def fail(event: Any, context: Any) -> None:
    raise FlakyError(f"always fails: {event.get('why')}")


def flaky(event: Any, context: Any) -> dict[str, int]:
    """Fails ``event["fail_times"]`` times per ``event["key"]``, then succeeds."""
    _attempts[event["key"]] += 1
    if _attempts[event["key"]] <= event["fail_times"]:
        raise FlakyError(f"attempt {_attempts[event['key']]}")
    return {"attempts": _attempts[event["key"]]}


def record(event: Any, context: Any) -> None:
    received.append(event)


def unserializable(event: Any, context: Any) -> set[int]:
    return {1, 2}


def list_buckets(event: Any, context: Any) -> list[str]:
    """Calls AWS from inside the handler, as the real Lambdas do."""
    return [bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]]


def chatty(event: Any, context: Any) -> str:
    print(f"handled {event['n']}")
    return "done"
