"""Which errors the state machine retries (``TransientError``) and which fail the rollout."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from axon.aws import is_transient
from axon.errors import TransientError
from axon.platforms.errors import PlatformError
from lambdas._shared import transient_errors


def _error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    "error",
    [
        _error("ThrottlingException"),
        _error("ProvisionedThroughputExceededException"),
        _error("SlowDown", 503),
        _error("InternalFailure", 500),
        _error("AnythingElse", 502),
        EndpointConnectionError(endpoint_url="https://sagemaker.us-east-1.amazonaws.com"),
    ],
)
def test_throttles_5xx_and_dropped_connections_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error", [_error("AccessDeniedException", 403), _error("ValidationException"), _error("ModelError", 424)]
)
def test_refusals_are_not(error: Exception) -> None:
    assert not is_transient(error)


def test_a_transient_error_wrapped_by_a_platform_is_still_retried() -> None:
    with pytest.raises(TransientError), transient_errors():
        try:
            raise _error("ThrottlingException")
        except ClientError as error:
            raise PlatformError(f"DescribeEndpoint failed: {error}") from error


def test_a_permanent_error_passes_through_unchanged() -> None:
    with pytest.raises(PlatformError), transient_errors():
        raise PlatformError("refused")
