"""SageMaker API errors as AWS returns them: an ``__type`` code, a message and an HTTP status."""

from __future__ import annotations


class SageMakerApiError(Exception):
    """An error the protocol layer turns into a JSON 1.1 error response."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> SageMakerApiError:
    """SageMaker answers bad input, missing resources and wrong states alike with ``ValidationException``."""
    return SageMakerApiError("ValidationException", message)
