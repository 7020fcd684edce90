"""``axon submit NAME --data|--file`` and ``axon result ID [--wait]``: asynchronous inference (``kind: async``).

``submit`` uploads the request body to ``s3://<models-bucket>/inputs/<api>/<id>`` and calls SageMaker Runtime's
InvokeEndpointAsync with that ``InputLocation``, the id as ``InferenceId`` and ``<id>.out`` as the output's
``Filename``, so the answer's key is known from the id alone: ``results/<api>/<id>.out`` (a failure:
``results/<api>/failures/<id>-error.out``; ``result`` takes any failure object named after the id, since AWS does not
document the failure's file name). The id printed is ``<api>/<id>``, which is all ``result`` needs.

An async API on ECS has no InvokeEndpointAsync: it has its own SQS queue (``axon-<api>-async``, made by the ECS
platform), and ``submit`` sends the request there as a message (:class:`axon.async_message.AsyncRequest`, with the
same field names and the same output and failure locations), after the same upload. The queue's existence is what
says the API is served so: it exists only for an ECS async API.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from botocore.exceptions import ClientError

from axon import names
from axon.async_message import QUEUE_MISSING_CODES, AsyncRequest
from axon.cli.context import CliContext, context_of
from axon.cli.errors import CliError, InvalidInputError
from axon.cli.options import JSON, Output, valid_api
from axon.cli.predict import read_payload

_ID = re.compile(r"^([a-z0-9-]{1,40})/([0-9a-f]{24})$")
_MISSING = {"NoSuchKey", "404", "NotFound"}


class ResultPendingError(CliError):
    """No answer yet (the request is queued or being processed); ``--wait`` waits for it."""

    code = "result.pending"


class ResultFailedError(CliError):
    """The model (or SageMaker) failed the request; the failure object says why."""

    code = "result.failed"


class SubmitRefusedError(CliError):
    """SageMaker refused InvokeEndpointAsync: no such endpoint, or the API is not ``kind: async``."""

    code = "submit.refused"


@dataclass(frozen=True)
class Submission:
    api: str
    inference_id: str

    @property
    def id(self) -> str:
        return f"{self.api}/{self.inference_id}"

    @classmethod
    def parse(cls, text: str) -> Submission:
        match = _ID.match(text)
        if match is None:
            raise InvalidInputError(f"{text!r} is not an id printed by `axon submit` (<api>/<24 hex digits>)")
        return cls(match.group(1), match.group(2))

    def input_key(self) -> str:
        return f"{names.async_input_prefix(self.api)}{self.inference_id}"

    def output_key(self) -> str:
        return names.async_output_key(self.api, self.inference_id)

    def failure_key(self) -> str:
        return names.async_failure_key(self.api, self.inference_id)

    def failure_prefix(self) -> str:
        return f"{names.async_failure_prefix(self.api)}{self.inference_id}"


def _body(data: str | None, file: Path | None, content_type: str) -> bytes:
    """The request body: ``--data`` as ``axon predict`` reads it, or ``--file`` up to SageMaker's async limit."""
    if (data is None) == (file is None):
        raise InvalidInputError("give exactly one of --data and --file")
    if file is None:
        assert data is not None
        return read_payload(data, content_type)
    size = file.stat().st_size
    if size > names.ASYNC_MAX_INPUT_BYTES:
        raise InvalidInputError(f"{file} is {size} bytes; an async input is at most {names.ASYNC_MAX_INPUT_BYTES}")
    return file.read_bytes()


def submit(
    ctx: typer.Context, name: str, data: str | None, file: Path | None, content_type: str, output: Output
) -> None:
    valid_api(name)
    body = _body(data, file, content_type)
    context = context_of(ctx)
    submission = Submission(name, uuid.uuid4().hex[:24])
    bucket = context.deployment.bucket
    queue = _queue_url(context, name)
    context.client("s3").put_object(Bucket=bucket, Key=submission.input_key(), Body=body, ContentType=content_type)
    answer = (
        _send(context, queue, submission, bucket, content_type)
        if queue is not None
        else _invoke(context, submission, bucket, content_type)
    )
    view = {
        "id": submission.id,
        "api": name,
        "inference_id": answer.get("InferenceId", submission.inference_id),
        "input_location": f"s3://{bucket}/{submission.input_key()}",
        "output_location": answer.get("OutputLocation", ""),
        "failure_location": answer.get("FailureLocation", ""),
    }
    if output is Output.json:
        typer.echo(json.dumps(view))
        return
    typer.echo(f"submitted {view['id']}")
    typer.echo(f"output: {view['output_location']}")
    typer.echo(f"result: axon result {view['id']} --wait")


def _queue_url(context: CliContext, api: str) -> str | None:
    """The API's SQS queue when it is an async API on ECS; ``None`` otherwise (SageMaker's InvokeEndpointAsync)."""
    try:
        return str(context.client("sqs").get_queue_url(QueueName=names.async_queue_name(api))["QueueUrl"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in QUEUE_MISSING_CODES:
            raise
        return None


def _send(context: CliContext, queue: str, submission: Submission, bucket: str, content_type: str) -> dict[str, str]:
    """The request as a message on the API's queue; the answer has InvokeEndpointAsync's fields."""
    request = AsyncRequest.for_api(submission.api, bucket, submission.inference_id, content_type=content_type)
    context.client("sqs").send_message(QueueUrl=queue, MessageBody=request.to_json())
    return {
        "InferenceId": request.inference_id,
        "OutputLocation": request.output_location,
        "FailureLocation": request.failure_location,
    }


def _invoke(context: CliContext, submission: Submission, bucket: str, content_type: str) -> dict[str, Any]:
    name = submission.api
    try:
        answer = context.client("sagemaker-runtime").invoke_endpoint_async(
            EndpointName=names.endpoint_name(name),
            InputLocation=f"s3://{bucket}/{submission.input_key()}",
            ContentType=content_type,
            InferenceId=submission.inference_id,
            Filename=f"{submission.inference_id}.out",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        message = error.response.get("Error", {}).get("Message", "")
        raise SubmitRefusedError(f"{name}: {message} (is it deployed, with kind: async?)") from None
    found: dict[str, Any] = answer
    return found


def _read(context: CliContext, prefix: str) -> tuple[str, bytes, str] | None:
    """The first object whose key starts with ``prefix`` (its key, body and content type), or ``None`` while there
    is none. Listed first: S3 answers a GetObject of a missing key with 403, not 404, unless the caller may list the
    bucket (here: only under ``results/``)."""
    s3, bucket = context.client("s3"), context.deployment.bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents") or []
    if not listed:
        return None
    key = str(listed[0]["Key"])
    try:
        found = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return key, found["Body"].read(), str(found.get("ContentType") or "application/octet-stream")


def _poll(context: CliContext, submission: Submission) -> tuple[str, str, bytes, str] | None:
    """("completed" | "failed", key, body, content type), or ``None`` while neither object exists. A failure is
    any object under the failure path that starts with the id (``<id>-error.out`` as the local stack names it)."""
    for status, prefix in (("completed", submission.output_key()), ("failed", submission.failure_prefix())):
        found = _read(context, prefix)
        if found is not None:
            return status, *found
    return None


def result(ctx: typer.Context, identifier: str, wait: bool, timeout: float, output: Output) -> None:
    submission = Submission.parse(identifier)
    context = context_of(ctx)
    deadline = context.clock() + timeout
    found = _poll(context, submission)
    while found is None and wait and context.clock() < deadline:
        context.sleep(context.poll_seconds)
        found = _poll(context, submission)
    if found is None:
        more = f" after {timeout:g} s" if wait else "; pass --wait to wait for it"
        raise ResultPendingError(f"{submission.id} has no answer yet{more}")
    status, key, body, content_type = found
    bucket = context.deployment.bucket
    if output is Output.json:
        typer.echo(json.dumps(_view(submission, status, f"s3://{bucket}/{key}", body, content_type)))
    elif status == "completed":
        typer.echo(body.decode("utf-8", "replace"))
    if status == "failed":
        raise ResultFailedError(f"{submission.id} failed: {body.decode('utf-8', 'replace')[:500]}")


def _view(submission: Submission, status: str, location: str, body: bytes, content_type: str) -> dict[str, Any]:
    text = body.decode("utf-8", "replace")
    parsed: Any = text
    if content_type.split(";")[0].strip() == JSON:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
    return {"id": submission.id, "status": status, "location": location, "content_type": content_type, "body": parsed}
