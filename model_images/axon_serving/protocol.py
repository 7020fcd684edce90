"""Typed messages between the HTTP layer, the runtime and the scheduler (cog's ``eventtypes`` idea)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from axon_serving.codecs import JSON
from axon_serving.errors import ServingError


@dataclass(frozen=True, slots=True)
class Invocation:
    """One ``POST /invocations`` as the runtime sees it: raw body plus the two negotiation headers."""

    body: bytes
    content_type: str | None
    accept: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the HTTP layer writes back; ``retry_after`` (seconds) is set on 503s."""

    status: int
    body: bytes
    content_type: str
    retry_after: int | None = None


@dataclass(slots=True)
class ScheduledResult:
    """A scheduled item's result, or the exception that failed it (set on the loop by the scheduler)."""

    value: Any = None
    error: BaseException | None = None


def error_reply(error: ServingError) -> Reply:
    """JSON error body ``{"error": {"code": ..., "message": ...}}`` with the error's status."""
    body = orjson.dumps({"error": error.as_reason()})
    retry_after = 1 if error.status == 503 else None
    return Reply(error.status, body, JSON, retry_after)
