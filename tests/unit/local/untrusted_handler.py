"""A handler that is not axon's: the Lambda guard tests check it is never imported (so never run) in local mode."""

from __future__ import annotations

from typing import Any


def handler(event: Any, context: Any) -> dict[str, bool]:
    return {"ran": True}
