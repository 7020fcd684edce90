"""One boto3 client factory: honours AWS_ENDPOINT_URL (local stack), region, standard retries, a user agent."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from axon import names

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, user_agent_extra="axon/0.1")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or names.DEFAULT_REGION


@cache
def _session(region_name: str) -> boto3.session.Session:
    return boto3.session.Session(region_name=region_name)


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (read by botocore itself) points every service at the local stack."""
    return _session(region()).client(service, config=_CONFIG, **kwargs)  # type: ignore[call-overload]
