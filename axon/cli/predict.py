"""``axon predict NAME --data JSON|@file``: one InvokeEndpoint call, as any SageMaker client would make it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from botocore.exceptions import ClientError

from axon import names
from axon.cli.context import context_of
from axon.cli.errors import CliError, InvalidInputError, NotFoundError
from axon.cli.options import JSON, valid_api


class ModelError(CliError):
    """The model answered with an error (SageMaker's ``ModelError``: the container returned non-2xx)."""

    code = "predict.model_error"


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


def _invoke_error(name: str, error: ClientError) -> Exception:
    details = error.response.get("Error", {})
    if details.get("Code") == "ModelError":
        status = error.response.get("OriginalStatusCode", "?")
        return ModelError(f"{name} answered HTTP {status}: {details.get('Message', '')} (axon logs {name})")
    if details.get("Code") == "ValidationError" and "not found" in details.get("Message", ""):
        return NotFoundError(f"{name} has no endpoint {names.endpoint_name(name)}: is it live? (axon get {name})")
    return error


def predict(ctx: typer.Context, name: str, data: str, content_type: str) -> None:
    """``axon predict``, run by :func:`axon.cli.app.predict` (which declares its options and help)."""
    cli = context_of(ctx)
    endpoint = names.endpoint_name(valid_api(name))
    payload = read_payload(data, content_type)
    try:
        response = cli.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, Body=payload, ContentType=content_type
        )
    except ClientError as error:
        raise _invoke_error(name, error) from error
    body: bytes = response["Body"].read()
    try:
        typer.echo(body.decode())
    except UnicodeDecodeError:
        sys.stdout.buffer.write(body)
