"""``axon submit`` and ``axon result`` on moto: the input's key, the InvokeEndpointAsync call, and how ``result``
reads an answer, a failure, or nothing yet (``--wait`` polls through the script's clock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from axon import names
from axon.cli.submit import Submission
from tests.functional.cli.conftest import BUCKET, Cli, Script, client, one_error_line


class RecordingRuntime:
    """Stands in for sagemaker-runtime: records InvokeEndpointAsync as SageMaker would receive it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_async(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        key = names.async_output_key("echo", params["InferenceId"])
        return {"InferenceId": params["InferenceId"], "OutputLocation": f"s3://{BUCKET}/{key}"}


def test_submit_uploads_the_body_and_invokes_async(cli: Cli, tmp_path: Path) -> None:
    runtime = RecordingRuntime()
    cli.overrides["sagemaker-runtime"] = runtime
    body = tmp_path / "request.json"
    body.write_text('{"text": "hi"}')
    done = cli("submit", "echo", "--file", str(body), "-o", "json")
    assert done.exit_code == 0, done.output
    view = json.loads(done.stdout)
    submission = Submission.parse(view["id"])
    (call,) = runtime.calls
    assert call == {
        "EndpointName": "axon-echo",
        "InputLocation": f"s3://{BUCKET}/inputs/echo/{submission.inference_id}",
        "ContentType": "application/json",
        "InferenceId": submission.inference_id,
        "Filename": f"{submission.inference_id}.out",
    }
    stored = client("s3").get_object(Bucket=BUCKET, Key=submission.input_key())["Body"].read()
    assert stored == b'{"text": "hi"}' and view["output_location"].endswith(
        f"results/echo/{submission.inference_id}.out"
    )


def test_submit_refuses_bad_input_before_any_call(cli: Cli, tmp_path: Path) -> None:
    assert "exactly one of --data and --file" in one_error_line(cli("submit", "echo"))
    assert "not JSON" in one_error_line(cli("submit", "echo", "--data", "{oops"))
    assert "invalid API name" in one_error_line(cli("submit", "Echo!", "--data", "{}"))
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as sparse:
        sparse.truncate(1024**3 + 1)  # one byte over SageMaker's async limit, and never read
    assert "is at most 1073741824" in one_error_line(cli("submit", "echo", "--file", str(huge)))
    assert "Contents" not in client("s3").list_objects_v2(Bucket=BUCKET, Prefix="inputs/")


def test_result_reads_the_answer_the_failure_or_says_pending(cli: Cli) -> None:
    s3 = client("s3")
    done, failed, pending = (Submission("echo", f"{n:024x}") for n in (1, 2, 3))
    s3.put_object(Bucket=BUCKET, Key=done.output_key(), Body=b'{"words": 3}', ContentType="application/json")
    s3.put_object(Bucket=BUCKET, Key=failed.failure_key(), Body=b"ModelError: asked to fail")
    answer = cli("result", done.id)
    assert answer.exit_code == 0 and json.loads(answer.stdout) == {"words": 3}
    view = json.loads(cli("result", done.id, "-o", "json").stdout)
    assert view == {
        "id": done.id,
        "status": "completed",
        "location": f"s3://{BUCKET}/results/echo/{done.inference_id}.out",
        "content_type": "application/json",
        "body": {"words": 3},
    }
    assert (
        "result.failed" in one_error_line(cli("result", failed.id))
        and "asked to fail" in cli("result", failed.id).stderr
    )
    assert "result.pending" in one_error_line(cli("result", pending.id))
    other = Submission("echo", f"{4:024x}")  # a failure named otherwise (AWS does not document its file name)
    s3.put_object(Bucket=BUCKET, Key=f"results/echo/failures/{other.inference_id}.out", Body=b"InternalFailure")
    failure = json.loads(cli("result", other.id, "-o", "json").stdout)
    assert (failure["status"], failure["location"]) == ("failed", f"s3://{BUCKET}/{other.failure_prefix()}.out")
    assert "not an id" in one_error_line(cli("result", "echo-123"))


def test_result_wait_polls_until_the_answer_lands(cli: Cli) -> None:
    later = Submission("echo", "f" * 24)

    def answer() -> None:
        client("s3").put_object(Bucket=BUCKET, Key=later.output_key(), Body=b"done")

    cli.script = Script([lambda: None, answer])
    done = cli("result", later.id, "--wait", "--timeout", "60")
    assert done.exit_code == 0 and done.stdout == "done\n" and cli.script.slept == 2
    cli.script = Script([lambda: None] * 100)
    late = Submission("echo", "e" * 24)
    assert "after 5 s" in one_error_line(cli("result", late.id, "--wait", "--timeout", "5"))


def test_submit_to_an_ecs_async_api_sends_the_request_to_its_queue(cli: Cli) -> None:
    runtime = RecordingRuntime()
    cli.overrides["sagemaker-runtime"] = runtime
    sqs = client("sqs")
    queue = sqs.create_queue(QueueName=names.async_queue_name("echo"))["QueueUrl"]
    done = cli("submit", "echo", "--data", '{"text": "hi"}', "-o", "json")
    assert done.exit_code == 0, done.output
    view = json.loads(done.stdout)
    submission = Submission.parse(view["id"])
    assert runtime.calls == []  # no InvokeEndpointAsync: ECS has none
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)["Messages"]
    input_location = f"s3://{BUCKET}/inputs/echo/{submission.inference_id}"
    assert json.loads(message["Body"]) == {
        "InferenceId": submission.inference_id,
        "InputLocation": input_location,
        "ContentType": "application/json",
        "RequestTTLSeconds": 21600,
        "OutputLocation": f"s3://{BUCKET}/{submission.output_key()}",
        "FailureLocation": f"s3://{BUCKET}/{submission.failure_key()}",
    }
    assert view["input_location"] == input_location and view["output_location"].endswith(submission.output_key())
    stored = client("s3").get_object(Bucket=BUCKET, Key=submission.input_key())["Body"].read()
    assert stored == b'{"text": "hi"}'
