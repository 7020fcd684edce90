"""Issue 15, end to end on a real local stack: an async API (``kind: async``) rolls out through the workflow, ``axon
submit`` queues a request through InvokeEndpointAsync, a real replica answers it, the answer lands in S3, SageMaker's
notification reaches an SQS queue subscribed to the API's topic, and ``axon result`` prints the answer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from axon import names
from axon.cli.submit import Submission
from axon.registry import VersionStatus
from tests.functional.rollout.conftest import bundle
from tests.integration.harness import ROOT, LocalClients, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-stack-async")]

API = "async-echo"
EXAMPLE = ROOT / "examples" / API
SERVICES = ("s3", "dynamodb", "sagemaker", "sagemaker-runtime", "sns", "sqs", "iam", "events", "stepfunctions")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalClients]:
    with running_stack(LocalClients, tmp_path_factory.mktemp("axon-cache"), SERVICES) as local:
        yield local


def test_submit_result_and_notification_on_the_local_stack(local: LocalClients) -> None:
    version_id = local.upload(API, bundle((EXAMPLE / "axon.yaml").read_text(), (EXAMPLE / "predictor.py").read_text()))
    assert local.wait_final(API, version_id, timeout=90).status is VersionStatus.LIVE
    config = local.client("sagemaker").describe_endpoint_config(EndpointConfigName=f"axon-{API}-v1")
    assert config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == f"s3://axon-models/results/{API}/"
    # The API's own role may read its inputs, write its results and notify its own topics (docs/security.md).
    policy = local.client("iam").get_role_policy(RoleName=names.api_role_name(API), PolicyName="axon-api")
    sids = {s["Sid"] for s in policy["PolicyDocument"]["Statement"]}
    assert {"OwnAsyncInputs", "OwnAsyncResults", "OwnAsyncTopics"} <= sids
    success, error = local.watch_outcomes(API, "success"), local.watch_outcomes(API, "error")

    submitted = json.loads(local.axon("submit", API, "--data", '{"text": "hello async world"}', "-o", "json").stdout)
    submission = Submission.parse(submitted["id"])
    assert submitted["output_location"] == f"s3://axon-models/{submission.output_key()}"
    answer = json.loads(local.axon("result", submitted["id"], "--wait", "--timeout", "30").stdout)
    assert answer == {"echo": {"text": "hello async world"}, "words": 3}
    stored = local.client("s3").get_object(Bucket="axon-models", Key=submission.output_key())
    assert json.loads(stored["Body"].read()) == answer
    note = local.notification(success)
    assert note["invocationStatus"] == "Completed" and note["inferenceId"] == submission.inference_id
    assert note["responseParameters"]["outputLocation"] == submitted["output_location"]
    assert note["requestParameters"] == {
        "contentType": "application/json",
        "endpointName": f"axon-{API}",
        "inputLocation": submitted["input_location"],
    }

    # A request the model fails: the failure object and the error topic, and `axon result` exits 1 with the code.
    failed = json.loads(local.axon("submit", API, "--data", '{"fail": true}', "-o", "json").stdout)
    refused = local.axon("result", failed["id"], "--wait", "--timeout", "30", ok=False)
    assert "result.failed" in refused.stderr
    note = local.notification(error)
    assert note["invocationStatus"] == "Failed" and note["inferenceId"] == Submission.parse(failed["id"]).inference_id
    assert note["responseParameters"]["failureLocation"] == failed["failure_location"]
    assert "ModelError" in note["failureReason"]


ROLLING = "async-roll"
ROLLING_SPEC = (
    "kind: async\n"
    "async: {max_concurrent_invocations_per_instance: 2}\n"
    "serving: {max_concurrency: 2}\n"
    "autoscaling: {min_replicas: 1, max_replicas: 2}\n"
    "rollout: {strategy: canary, canary_percent: 50, bake_seconds: 2}\n"
    "predictor: {config: {delay_seconds: 0.05}}\n"
)


def test_a_rollout_of_an_async_api_under_load_loses_no_request(local: LocalClients) -> None:
    """Issue 15: requests submitted all through a canary rollout (v1 live, v2 shifted in, v1's fleet stopped) are
    each answered, none failed or lost; v1 answered before, both during the canary, v2 alone after."""
    predictor = (EXAMPLE / "predictor.py").read_text()
    first = local.upload(ROLLING, bundle(ROLLING_SPEC, predictor))
    assert local.wait_final(ROLLING, first, timeout=90).status is VersionStatus.LIVE
    s3, runtime = local.client("s3"), local.client("sagemaker-runtime")
    outputs: list[tuple[str, str]] = []
    stop = threading.Event()

    def submit_until_stopped() -> None:
        while not stop.is_set():
            key = f"inputs/{ROLLING}/{uuid.uuid4().hex}"
            s3.put_object(Bucket="axon-models", Key=key, Body=b'{"text": "under load"}', ContentType="application/json")
            answer = runtime.invoke_endpoint_async(
                EndpointName=names.endpoint_name(ROLLING),
                InputLocation=f"s3://axon-models/{key}",
                ContentType="application/json",
            )
            outputs.append((answer["OutputLocation"], answer["FailureLocation"]))
            time.sleep(0.05)

    submitter = threading.Thread(target=submit_until_stopped, daemon=True)
    submitter.start()
    try:
        marked = predictor.replace('"words": len(text.split())}', '"words": len(text.split()), "version": 2}')
        assert marked != predictor
        second = local.upload(ROLLING, bundle(ROLLING_SPEC, marked))
        assert local.wait_final(ROLLING, second, timeout=120).status is VersionStatus.LIVE
        after_rollout = len(outputs)
        time.sleep(1)  # a few more requests on v2 alone
    finally:
        stop.set()
        submitter.join(timeout=30)
    assert len(outputs) > 20

    def answered(location: str) -> bool:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0)
        return bool(listed)

    local.wait_for(lambda: all(answered(out) for out, _ in outputs), "every answer in S3", timeout=60)
    assert not [fail for _, fail in outputs if answered(fail)]
    versions = []
    for out, _ in outputs:
        bucket, _, key = out.removeprefix("s3://").partition("/")
        answer = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert answer["words"] == 2
        versions.append(answer.get("version", 1))
    # v1 alone first, both during the canary, v2 alone once the rollout is over (v1's fleet stopped).
    assert versions[0] == 1 and 2 in versions and set(versions[after_rollout:]) == {2}


ZERO = "async-zero"
ZERO_SPEC = (
    "kind: async\n"
    "autoscaling: {min_replicas: 0, max_replicas: 2, window_seconds: 10, upscale_stabilization_seconds: 0,"
    " downscale_stabilization_seconds: 10}\n"
    "rollout: {strategy: all_at_once}\n"
)


def _requested(local: LocalClients, api: str) -> int:
    [variant] = local.client("sagemaker").describe_endpoint(EndpointName=names.endpoint_name(api))["ProductionVariants"]
    return int(variant["DesiredInstanceCount"])


def test_an_idle_async_api_scales_to_zero_and_its_first_request_brings_a_replica_back(local: LocalClients) -> None:
    """Issue 15: the real autoscaler Lambda takes an idle async API to zero instances; a request submitted then waits
    in the queue, the backlog the local stack publishes as SageMaker does starts one replica (``from_zero``), the
    request is answered, and once idle again the API goes back to zero."""
    version_id = local.upload(ZERO, bundle(ZERO_SPEC, (EXAMPLE / "predictor.py").read_text()))
    assert local.wait_final(ZERO, version_id, timeout=90).status is VersionStatus.LIVE
    assert _requested(local, ZERO) == 1  # a rollout starts one instance, whatever min_replicas says
    local.wait_for(lambda: local.stack.tick() and _requested(local, ZERO) == 0, "the scale-in to zero", timeout=90)

    s3, key = local.client("s3"), f"inputs/{ZERO}/{uuid.uuid4().hex}"
    s3.put_object(Bucket="axon-models", Key=key, Body=b'{"text": "from zero"}', ContentType="application/json")
    submitted = local.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=names.endpoint_name(ZERO), InputLocation=f"s3://axon-models/{key}", ContentType="application/json"
    )
    local.wait_for(lambda: local.stack.tick() and _requested(local, ZERO) >= 1, "the scale-up from zero", timeout=60)
    bucket, _, output = submitted["OutputLocation"].removeprefix("s3://").partition("/")
    local.wait_for(
        lambda: s3.list_objects_v2(Bucket=bucket, Prefix=output).get("KeyCount"), "the answer in S3", timeout=60
    )
    assert json.loads(s3.get_object(Bucket=bucket, Key=output)["Body"].read())["words"] == 2
    local.wait_for(lambda: local.stack.tick() and _requested(local, ZERO) == 0, "back to zero", timeout=90)
    applied = [(d["previous"], d["desired"], d["reason"]) for d in local.decisions(ZERO) if d["applied"]]
    assert applied == [(1, 0, "load"), (0, 1, "from_zero"), (1, 0, "load")]
