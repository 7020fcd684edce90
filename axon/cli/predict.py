"""``axon predict NAME --data JSON|@file [--stream]``: one request, sent where that API's clients send theirs.

A SageMaker API gets one InvokeEndpoint call, as any SageMaker client would make it. An ECS API is reached through
the load balancer: ``POST <EcsConfig.url>/apis/<api>/invocations`` (the listener rule's path, rewritten to the
runtime's ``/invocations``), with ``Authorization: Bearer <token>`` when ``/axon/ecs/config`` has JWT verification.
The HTTP client is the standard library's, bounded: one overall deadline, a cap on the answer's size, no
redirects (a bearer token never follows one to another host). ``--stream`` prints the answer as it arrives
(InvokeEndpointWithResponseStream; the chunked body the ALB passes through): no overall deadline and no size cap
then, since nothing is held, but each read still times out.
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import typer
from botocore.exceptions import ClientError

from axon import names
from axon.cli.context import CliContext, context_of
from axon.cli.errors import CliError, InvalidInputError, NotFoundError
from axon.cli.options import JSON, valid_api

if TYPE_CHECKING:
    from axon.platforms.ecs.config import EcsConfig

TOKEN_ENV = "AXON_TOKEN"  # noqa: S105 (the variable's name) the bearer token for ECS APIs behind JWT verification
TIMEOUT_SECONDS = 120.0  # the whole request, connection to last byte (the ALB's idle timeout is 60 s)
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
_EXCERPT = 300  # characters of an error body quoted in the error line
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
T = TypeVar("T")
_ALB_ERRORS = {
    502: "a replica broke the connection",
    503: "no healthy replica takes requests",
    504: "no replica answered within the load balancer's idle timeout",
}


class ModelError(CliError):
    """The model answered with an error (SageMaker's ``ModelError``, or a non-2xx from an ECS replica)."""

    code = "predict.model_error"


class UnauthorizedError(CliError):
    """The load balancer refused the request (JWT verification), or it needs a token and none was given."""

    code = "predict.unauthorized"


class UnavailableError(CliError):
    """The API could not be reached, or the load balancer answered for it (no healthy replica, timeouts)."""

    code = "predict.unavailable"


class ResponseTooLargeError(CliError):
    code = "predict.response_too_large"


def read_payload(data: str, content_type: str) -> bytes:
    """``@path`` reads a file, ``@-`` stdin; other text is the payload (checked to be JSON when it claims so)."""
    if data.startswith("@"):
        source = data[1:]
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    if content_type == JSON:
        try:
            json.loads(data)
        except json.JSONDecodeError as error:
            raise InvalidInputError(f"--data is not JSON ({error.msg} at column {error.colno})") from error
    return data.encode()


# ---- SageMaker --------------------------------------------------------------------------------------------------


def _invoke_error(name: str, error: ClientError) -> Exception:
    details = error.response.get("Error", {})
    if details.get("Code") == "ModelError":
        status = error.response.get("OriginalStatusCode", "?")
        return ModelError(f"{name} answered HTTP {status}: {details.get('Message', '')} (axon logs {name})")
    if details.get("Code") == "ValidationError" and "not found" in details.get("Message", ""):
        return NotFoundError(f"{name} has no endpoint {names.endpoint_name(name)}: is it live? (axon get {name})")
    return error


def _invoke_sagemaker(cli: CliContext, name: str, payload: bytes, content_type: str) -> bytes:
    try:
        response = cli.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=names.endpoint_name(name), Body=payload, ContentType=content_type
        )
    except ClientError as error:
        raise _invoke_error(name, error) from error
    body: bytes = response["Body"].read()
    return body


# ---- ECS: through the load balancer -----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is raised as an HTTPError and reported


def _excerpt(body: bytes) -> str:
    text = body[: _EXCERPT * 4].decode("utf-8", "replace").strip()
    return text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else "")


def _bounded_read(response: Any, url: str, *, cli: CliContext) -> bytes:
    """At most :data:`MAX_RESPONSE_BYTES`, within :data:`TIMEOUT_SECONDS` (each socket read is bounded too)."""
    deadline = cli.clock() + TIMEOUT_SECONDS
    chunks: list[bytes] = []
    size = 0
    while True:
        if cli.clock() > deadline:
            raise UnavailableError(f"{url} did not finish answering within {TIMEOUT_SECONDS:g} s")
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ResponseTooLargeError(f"{url} answered more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
        chunks.append(chunk)


def _headers(config: EcsConfig, url: str, content_type: str, token: str | None, name: str) -> dict[str, str]:
    headers = {"Content-Type": content_type, "Accept": "*/*", "User-Agent": "axon-cli"}
    if config.auth is None:
        return headers  # no JWT verification on the rules: a token is not needed, and is not sent anywhere
    if not token:
        raise UnauthorizedError(
            f"{name} is behind JWT verification (issuer {config.auth.issuer}): pass --token or export {TOKEN_ENV}"
        )
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
        raise UnauthorizedError(f"refusing to send a bearer token over plain HTTP to {parts.netloc}")
    headers["Authorization"] = f"Bearer {token}"
    return headers


def _http_error(name: str, url: str, error: urllib.error.HTTPError, body: bytes, token_sent: bool) -> CliError:
    status = error.code
    from_alb = str(error.headers.get("Server", "")).startswith("awselb")
    if status in (401, 403):
        why = "the token was refused (expired, another issuer or a missing scope?)" if token_sent else "no token"
        return UnauthorizedError(f"the load balancer refused the request to {name} (HTTP {status}): {why}")
    if status == 404:
        return NotFoundError(f"nothing answers {url} (HTTP 404): is {name} live? (axon get {name})")
    if 300 <= status < 400:
        where = error.headers.get("Location", "elsewhere")
        return UnavailableError(f"{url} redirects to {where} (HTTP {status}): /axon/ecs/config's url is not the API's")
    if from_alb and status in _ALB_ERRORS:
        return UnavailableError(
            f"the load balancer answered HTTP {status} for {name}: {_ALB_ERRORS[status]} (axon get {name})"
        )
    return ModelError(f"{name} answered HTTP {status}: {_excerpt(body)} (axon logs {name})")


def _invoke_ecs(
    cli: CliContext, name: str, payload: bytes, content_type: str, token: str | None, consume: Callable[[Any, str], T]
) -> T:
    """POST through the load balancer; ``consume(response, url)`` reads the answer (whole, or as it streams)."""
    config = cli.ecs_config
    url = cli.runtime_url(name, "ecs")
    headers = _headers(config, url, content_type, token, name)
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")  # noqa: S310 (EcsConfig.url is http(s))
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return consume(response, url)
    except urllib.error.HTTPError as error:
        try:
            body = error.read(_EXCERPT * 4)
        except OSError:
            body = b""
        raise _http_error(name, url, error, body, "Authorization" in headers) from None
    except http.client.IncompleteRead as error:  # a chunked body cut before its end: the model failed mid-stream
        why = "the connection closed before its end"
        raise ModelError(f"{name}'s answer broke off: {why} (axon logs {name})") from error
    except TimeoutError as error:
        raise UnavailableError(f"no answer from {url} within {TIMEOUT_SECONDS:g} s") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise UnavailableError(f"no answer from {url} within {TIMEOUT_SECONDS:g} s") from error
        inside = " (the load balancer is internal: run axon from inside its VPC)" if config.internal else ""
        raise UnavailableError(f"cannot reach {url}: {error.reason}{inside}") from error


def _relay(write: Callable[[bytes], None]) -> Callable[[Any, str], None]:
    """Streamed ECS answers: each piece of the chunked body is written as it arrives (``read1`` returns what one
    chunk holds instead of waiting for the whole size); each read is bounded by the timeout, not the whole."""

    def consume(response: Any, url: str) -> None:
        while chunk := response.read1(_CHUNK):
            write(chunk)

    return consume


# ---- streaming ----------------------------------------------------------------------------------------------------


def _stream_sagemaker(
    cli: CliContext, name: str, payload: bytes, content_type: str, write: Callable[[bytes], None]
) -> None:
    """InvokeEndpointWithResponseStream: each ``PayloadPart`` is written as it arrives; a ``ModelStreamError``
    after the first part is the model failing mid-stream."""
    from botocore.exceptions import EventStreamError

    try:
        response = cli.client("sagemaker-runtime").invoke_endpoint_with_response_stream(
            EndpointName=names.endpoint_name(name), Body=payload, ContentType=content_type
        )
    except ClientError as error:
        raise _invoke_error(name, error) from error
    try:
        for event in response["Body"]:
            part = event.get("PayloadPart")
            if part is not None:
                write(part["Bytes"])
    except EventStreamError as error:
        details = error.response.get("Error", {})
        why = f"{details.get('Code', 'stream error')}: {details.get('Message', '')}"
        raise ModelError(f"{name}'s answer broke off: {why} (axon logs {name})") from None


class _Output:
    """stdout for streamed parts: flushed after each, and ended with a newline on a terminal, as ``typer.echo``
    ends a whole answer."""

    def __init__(self) -> None:
        self.last = b"\n"

    def write(self, chunk: bytes) -> None:
        if chunk:
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            self.last = chunk[-1:]

    def close(self) -> None:
        if self.last != b"\n" and sys.stdout.isatty():
            sys.stdout.buffer.write(b"\n")
            sys.stdout.buffer.flush()


def predict(
    ctx: typer.Context, name: str, data: str, content_type: str, token: str | None = None, stream: bool = False
) -> None:
    """``axon predict``, run by :func:`axon.cli.app.predict` (which declares its options and help)."""
    cli = context_of(ctx)
    valid_api(name)
    payload = read_payload(data, content_type)
    api = cli.api(name)
    if api.deleted:
        raise NotFoundError(f"{name} was deleted (axon history {name} shows its versions)")
    if stream:
        output = _Output()
        try:
            if api.platform == "ecs":
                _invoke_ecs(cli, name, payload, content_type, token, _relay(output.write))
            else:
                _stream_sagemaker(cli, name, payload, content_type, output.write)
        finally:
            output.close()
        return
    if api.platform == "ecs":
        body = _invoke_ecs(cli, name, payload, content_type, token, partial(_bounded_read, cli=cli))
    else:
        body = _invoke_sagemaker(cli, name, payload, content_type)
    try:
        typer.echo(body.decode())
    except UnicodeDecodeError:
        sys.stdout.buffer.write(body)
