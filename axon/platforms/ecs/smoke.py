"""The ECS smoke test's one request, sent from inside AxonEcs's VPC by the ``axon-ecs-smoke`` Lambda.

AxonCore's Lambdas run outside any VPC, and the ALB is internal by default (or admits a few networks only), so the
control plane cannot reach it. It invokes ``axon-ecs-smoke`` (``lambdas/ecs_smoke.py``, in the VPC's private
subnets) instead, for every front-door shape: one path, tested the same everywhere. The function is no proxy to
anywhere: it takes a path under ``/apis/`` and a few named headers, never a URL, and sends them to the one base
URL its stack configured (``AXON_ECS_SMOKE_TARGET``), with a bounded timeout and a bounded answer.

- :class:`SmokeRequest` / :func:`perform`: the function's side (validation, the HTTP request);
- :func:`invoke`: the control plane's side (``lambda:InvokeFunction``, RequestResponse), which maps what can go
  wrong to the rollout's errors: throttling and Lambda service faults are :class:`~axon.errors.TransientError`
  (the workflow retries; the request only reads), no answer from the model is the smoke test's failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from axon import names
from axon.aws import is_transient
from axon.errors import TransientError
from axon.platforms.errors import PlatformError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

MAX_TIMEOUT_SECONDS = 90.0  # VerifyVersion's Lambda has 120 s; the function's own timeout is a little above this
FUNCTION_TIMEOUT_SECONDS = 100
MAX_BODY_BYTES = 64 * 1024  # the smoke payload's own limit (bundle validation), and the most an answer keeps
# Only a path of one API under /apis/: no query, no "..", no host; the ALB routes /apis/<api>/invocations alone.
_PATH = re.compile(r"^/apis/[a-z0-9-]{1,40}(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$")
ALLOWED_HEADERS = frozenset({"content-type", "accept", "x-axon-version", "x-axon-test-token"})
ANSWER_HEADERS = ("content-type",)

HttpPost = Callable[[str, bytes, Mapping[str, str], float], tuple[int, bytes, dict[str, str]]]
"""``(url, body, headers, timeout) -> (status, body (at most MAX_BODY_BYTES + 1), headers)``; raises ``OSError``
when nothing answers."""


class SmokeRequestRefusedError(ValueError):
    """The function was asked for something it never sends (a bad path, header, size or timeout)."""


class SmokeFunctionMissingError(PlatformError):
    code = "platform.ecs_smoke_missing"


class SmokeRequest(BaseModel):
    """The event of ``axon-ecs-smoke``: what to send, relative to the ALB it is configured for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(max_length=200)
    headers: dict[str, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict, max_length=8)
    body: str = Field(default="", description="base64", max_length=(MAX_BODY_BYTES * 4) // 3 + 4)
    timeout: float = Field(gt=0, le=MAX_TIMEOUT_SECONDS)

    @field_validator("path")
    @classmethod
    def _under_apis(cls, path: str) -> str:
        if not _PATH.match(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
            raise ValueError(f"not a path under /apis/<api>/: {path!r}")
        return path

    @field_validator("headers")
    @classmethod
    def _named_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        refused = sorted(name for name in headers if name.lower() not in ALLOWED_HEADERS)
        if refused:
            raise ValueError(f"headers {refused} are not sent (only {sorted(ALLOWED_HEADERS)})")
        if any("\r" in v or "\n" in v for v in headers.values()):
            raise ValueError("a header value holds a line break")
        return headers

    def payload(self) -> bytes:
        try:
            data = base64.b64decode(self.body, validate=True)
        except ValueError as error:
            raise SmokeRequestRefusedError(f"body is not base64: {error}") from None
        if len(data) > MAX_BODY_BYTES:
            raise SmokeRequestRefusedError(f"body of {len(data)} bytes is over {MAX_BODY_BYTES}")
        return data


class SmokeAnswer(BaseModel):
    """What the function returns: the model's answer, bounded, or why nothing answered (``error``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int = 0
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""  # base64, at most MAX_BODY_BYTES decoded
    truncated: bool = False
    elapsed: float = 0.0
    error: str | None = None

    def content(self) -> bytes:
        return base64.b64decode(self.body)


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes, dict[str, str]]:
    """POST with the standard library, reading at most one byte past the bound; error statuses are answers."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) target only)
            return int(response.status), bytes(response.read(MAX_BODY_BYTES + 1)), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read(MAX_BODY_BYTES + 1)), dict(error.headers.items())


def parse_request(event: Mapping[str, Any]) -> SmokeRequest:
    try:
        return SmokeRequest.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in error.errors())
        raise SmokeRequestRefusedError(problems) from None


def target() -> str:
    """The base URL this function may call (``AXON_ECS_SMOKE_TARGET``): its own stack's ALB."""
    base = os.environ.get(names.ECS_SMOKE_TARGET_ENV, "")
    if not re.match(r"^https?://[^/?#@]+$", base):
        raise SmokeRequestRefusedError(f"{names.ECS_SMOKE_TARGET_ENV} is not a base URL: {base!r}")
    return base


def perform(
    event: Mapping[str, Any], base_url: str, post: HttpPost = http_post, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """The function's work: validate ``event``, send it to ``base_url``, return a bounded :class:`SmokeAnswer`."""
    request = parse_request(event)
    started = clock()
    try:
        status, data, headers = post(f"{base_url}{request.path}", request.payload(), request.headers, request.timeout)
    except OSError as error:  # refused, reset, timed out: the model did not answer
        return SmokeAnswer(error=str(error) or type(error).__name__, elapsed=clock() - started).model_dump()
    kept = {name: value for name, value in headers.items() if name.lower() in ANSWER_HEADERS}
    return SmokeAnswer(
        status=status,
        headers={name.lower(): value for name, value in kept.items()},
        body=base64.b64encode(data[:MAX_BODY_BYTES]).decode(),
        truncated=len(data) > MAX_BODY_BYTES,
        elapsed=clock() - started,
    ).model_dump()


def invoke(
    lambda_client: LambdaClient, function: str, path: str, payload: bytes, headers: Mapping[str, str], timeout: float
) -> SmokeAnswer:
    """Run one smoke request through ``function``; transient faults raise ``TransientError``."""
    event = {
        "path": path,
        "headers": dict(headers),
        "body": base64.b64encode(payload).decode(),
        "timeout": min(timeout, MAX_TIMEOUT_SECONDS),
    }
    try:
        response = lambda_client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            raise SmokeFunctionMissingError(
                f"the ECS smoke-test function {function} does not exist: deploy the current AxonEcs stack"
            ) from None
        if is_transient(error):
            raise TransientError(f"invoking {function}: {error}") from error
        raise PlatformError(f"invoking {function} failed: {error}") from error
    text = response["Payload"].read()
    if response.get("FunctionError"):
        detail = _function_error(text)
        if detail.get("errorType") == SmokeRequestRefusedError.__name__:
            raise PlatformError(f"{function} refused the smoke request: {detail.get('errorMessage')}")
        # A runtime fault (timed out starting its network interface, out of memory): a later attempt may work.
        raise TransientError(f"{function} failed: {detail.get('errorType')}: {detail.get('errorMessage')}")
    try:
        return SmokeAnswer.model_validate_json(text)
    except ValidationError as error:
        raise PlatformError(f"{function} answered something that is not a smoke answer: {error}") from None


def _function_error(text: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"errorType": "Unknown", "errorMessage": text[:200].decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"errorType": "Unknown", "errorMessage": str(parsed)[:200]}
