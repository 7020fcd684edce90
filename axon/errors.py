"""Base error with a stable, namespaced code: the code is what the registry records and the CLI prints."""

from __future__ import annotations


class AxonError(Exception):
    """An error a user can act on: ``code`` is stable (``"bundle.path_traversal"``), ``message`` one line."""

    code: str = "axon.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_reason(self) -> dict[str, str]:
        """The registry's ``reason`` field: error code plus human message."""
        return {"code": self.code, "message": self.message}


class TransientError(AxonError):
    """An AWS call failed in a way that a later attempt may not (throttling, 5xx, a dropped connection).

    Step handlers raise it in place of the SDK's error; the state machine retries it with back-off, which is safe
    because every step is idempotent.
    """

    code = "aws.transient"
