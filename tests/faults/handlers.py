"""Handlers for the runtime hooks the fault harness uses, run in-process by the patched moto Lambda."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import boto3

from axon_local.patches.lambda_runtime import ProcessExit, current_invocation

calls: list[Any] = []


def dies(event: Any, context: Any) -> str:
    """Catching ``Exception`` cannot stop a dying process."""
    calls.append(event)
    try:
        raise ProcessExit("signal: killed")
    except Exception:
        return "survived"


def whoami(event: Any, context: Any) -> dict[str, Any]:
    calls.append(event)
    invocation = current_invocation()
    assert invocation is not None
    return {"function": invocation.function_name, "request_id": invocation.request_id, "event": invocation.event}


def fails_until(event: Any, context: Any) -> str:
    """Fails until it has been called ``event["detail"]["fail_times"] + 1`` times (an EventBridge event)."""
    calls.append(event)
    if len(calls) <= event["detail"]["fail_times"]:
        raise RuntimeError(f"attempt {len(calls)}")
    return "ok"


def creates_tables(event: Any, context: Any) -> list[str]:
    """Two DynamoDB calls of the same operation, then one of another: three call sites."""
    dynamodb = boto3.client("dynamodb")
    for name in ("a", "b"):
        with suppress(dynamodb.exceptions.ResourceInUseException):  # a second delivery finds them
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            )
    return list(dynamodb.list_tables()["TableNames"])
