"""An async API on ECS end to end on a real local stack: the workflow rolls it out as a worker-mode service, `axon
submit` puts the request on the API's SQS queue, a real ``axon-serve`` task answers it into S3, the notification
reaches a queue subscribed to the API's topic, and SQS's backlog metric is published for the autoscaler."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from axon import names
from axon.cli.submit import Submission
from axon.registry import VersionStatus
from tests.functional.rollout.conftest import bundle
from tests.integration.harness import ROOT, running_stack
from tests.integration.local_ecs.conftest import Local

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-ecs-async")]

API = "async-echo-ecs"
EXAMPLE = ROOT / "examples" / API
SERVICES = ("s3", "dynamodb", "ecs", "elbv2", "events", "stepfunctions", "sqs", "sns", "iam", "cloudwatch")
SPEC = (
    (EXAMPLE / "axon.yaml")
    .read_text()
    .replace("bake_seconds: 60", "bake_seconds: 0")
    .replace(
        "autoscaling: {min_replicas: 0, max_replicas: 2}",
        "autoscaling: {min_replicas: 0, max_replicas: 2, window_seconds: 10, upscale_stabilization_seconds: 0,"
        " downscale_stabilization_seconds: 10}",
    )
)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    with running_stack(Local, tmp_path_factory.mktemp("axon-cache"), SERVICES) as local:
        yield local


def test_submit_answer_in_s3_and_notification_on_ecs(local: Local) -> None:
    version_id = local.upload(API, bundle(SPEC, (EXAMPLE / "predictor.py").read_text()))
    record = local.wait_final(API, version_id, timeout=90)
    assert record.status is VersionStatus.LIVE, record.reason
    assert local.counts(API, "v1") == (1, 1)  # init = min_replicas 0, but a rollout starts one task
    policy = local.client("iam").get_role_policy(RoleName=names.api_role_name(API), PolicyName="axon-api")
    assert "OwnAsyncQueue" in {s["Sid"] for s in policy["PolicyDocument"]["Statement"]}
    success, error = local.watch_outcomes(API, "success"), local.watch_outcomes(API, "error")

    submitted = json.loads(local.axon("submit", API, "--data", '{"text": "hello from ecs"}', "-o", "json").stdout)
    submission = Submission.parse(submitted["id"])
    assert submitted["output_location"] == f"s3://axon-models/{submission.output_key()}"
    answer = json.loads(local.axon("result", submitted["id"], "--wait", "--timeout", "30").stdout)
    assert answer == {"echo": {"text": "hello from ecs"}, "words": 3}
    note = local.notification(success)
    assert note["invocationStatus"] == "Completed" and note["inferenceId"] == submission.inference_id
    assert note["responseParameters"]["outputLocation"] == submitted["output_location"]
    assert note["requestParameters"]["endpointName"] == f"axon-{API}"

    failed = json.loads(local.axon("submit", API, "--data", '{"fail": true}', "-o", "json").stdout)
    assert "result.failed" in local.axon("result", failed["id"], "--wait", "--timeout", "30", ok=False).stderr
    note = local.notification(error)
    assert note["invocationStatus"] == "Failed" and "ModelError" in note["failureReason"]

    # The queue is drained, and its backlog is in AWS/SQS by QueueName, as the autoscaler reads it.
    queue = names.async_queue_name(API)
    metrics = local.wait_for(
        lambda: local.client("cloudwatch").list_metrics(
            Namespace=names.SQS_NAMESPACE, Dimensions=[{"Name": "QueueName", "Value": queue}]
        )["Metrics"],
        "the SQS backlog metrics",
        timeout=20,
    )
    assert {m["MetricName"] for m in metrics} == set(names.SQS_BACKLOG_METRICS)

    # Idle, the real autoscaler takes the service to zero tasks; a request then waits in the queue, its depth
    # (AWS/SQS) starts a task (from_zero), the task answers, and idle again the service goes back to zero.
    local.wait_for(lambda: local.stack.tick() and local.counts(API, "v1")[0] == 0, "the scale-in to zero", timeout=90)
    late = json.loads(local.axon("submit", API, "--data", '{"text": "from zero"}', "-o", "json").stdout)
    local.wait_for(lambda: local.stack.tick() and local.counts(API, "v1")[0] >= 1, "the scale-up from zero", timeout=60)
    assert json.loads(local.axon("result", late["id"], "--wait", "--timeout", "60").stdout)["words"] == 2
    local.wait_for(lambda: local.stack.tick() and local.counts(API, "v1")[0] == 0, "back to zero", timeout=90)
    applied = [(d["previous"], d["desired"], d["reason"]) for d in local.decisions(API) if d["applied"]]
    assert applied == [(1, 0, "load"), (0, 1, "from_zero"), (1, 0, "load")]
