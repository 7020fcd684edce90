"""One boto3 client factory: honours AWS_ENDPOINT_URL (local stack), region, standard retries, a user agent."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from axon import names

CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, user_agent_extra="axon/0.1")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or names.DEFAULT_REGION


@cache
def _session(region_name: str) -> boto3.session.Session:
    return boto3.session.Session(region_name=region_name)


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (read by botocore itself) points every service at the local stack."""
    return _session(region()).client(service, config=CLIENT_CONFIG, **kwargs)  # type: ignore[call-overload]


# The error codes botocore's "standard" retry mode treats as throttling or transient, plus DynamoDB's transaction
# conflicts: after the SDK's own attempts, these still say "try again later", never "this request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
    }
)


def is_transient(error: BaseException) -> bool:
    """Whether an SDK error may go away on a later attempt (then a step is retried, not failed)."""
    if isinstance(error, ClientError):
        response = error.response
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        reasons = response.get("CancellationReasons") or []
        conflict = any(r.get("Code") in {"TransactionConflict", "ThrottlingError"} for r in reasons)
        return code in _TRANSIENT_CODES or status >= 500 or conflict
    return isinstance(error, BotoConnectionError | HTTPClientError)
