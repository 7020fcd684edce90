"""ECS async APIs against moto and the local ECS agent: the queue, green's share of tasks, rollback, scale to 0."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from axon import names
from axon.platforms.base import DeploymentPhase, VersionRef
from axon.platforms.ecs import queue as ecs_queue
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs.platform import EcsPlatform
from axon.spec import ApiSpec
from tests.functional.platforms.conftest import ECS_SPEC, World, client

ASYNC = "kind: async\n"


@pytest.fixture
def queued(world: World) -> Iterator[World]:
    """The world's platform with the SQS and SNS clients an async API needs."""
    world.platform = EcsPlatform(
        client("ecs"),
        client("elbv2"),
        client("cloudwatch"),
        world.config,
        logs=client("logs"),
        clock=lambda: world.clock[0],
        lambda_client=client("lambda"),
        sqs=client("sqs"),
        sns=client("sns"),
    )
    yield world


def version(label: str, extra: str = "", api: str = "echo") -> VersionRef:
    spec = ApiSpec.model_validate(yaml.safe_load(ECS_SPEC + ASYNC + extra))
    return VersionRef(
        api=api,
        label=label,
        spec=spec,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-gpu",
        model_data_uri=f"s3://{names.LOCAL_MODELS_BUCKET}/{names.immutable_bundle_key(api, label)}",
    )


def queue_tags(api: str = "echo") -> dict[str, str]:
    url = client("sqs").get_queue_url(QueueName=names.async_queue_name(api))["QueueUrl"]
    return dict(client("sqs").list_queue_tags(QueueUrl=url).get("Tags") or {})


def counts(world: World, *labels: str) -> list[int]:
    return [int(world.service("echo", label)["desiredCount"]) for label in labels]


def poll(world: World, green: VersionRef, blue: VersionRef | None) -> Any:
    world.ecs.agent.sync()
    return world.platform.deployment_status(green, blue)


def go_live(world: World, green: VersionRef, blue: VersionRef | None = None) -> None:
    for _ in range(20):
        status = poll(world, green, blue)
        if status.phase == DeploymentPhase.SUCCEEDED:
            world.platform.retire(green, blue)
            return
        assert status.phase == DeploymentPhase.IN_PROGRESS, status.message
        world.advance(61)
    raise AssertionError("never went live")


def test_deploy_makes_the_queue_dlq_topics_and_a_worker_service_without_load_balancer(queued: World) -> None:
    v1 = version("v1", "serving: {request_timeout_seconds: 120}\n")
    queued.platform.deploy(v1, None)
    queued.platform.deploy(v1, None)  # a retried Deploy converges
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=names.async_queue_name("echo"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_url(QueueName=names.async_dlq_name("echo"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert attributes["VisibilityTimeout"] == "150"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    topics = {t["TopicArn"].rsplit(":", 1)[-1] for t in client("sns").list_topics()["Topics"]}
    assert topics == {names.async_topic_name("echo", o) for o in names.ASYNC_TOPIC_OUTCOMES}
    service = queued.service("echo", "v1")
    assert not service.get("loadBalancers") and queued.target_groups() == [] and queued.rules() == []
    task = client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    (container,) = task["containerDefinitions"]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment[names.ASYNC_QUEUE_URL_ENV] == url
    assert environment[names.ASYNC_SUCCESS_TOPIC_ENV].endswith(":axon-echo-async-success")
    assert container["stopTimeout"] == ecs_service.WORKER_STOP_TIMEOUT_SECONDS
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="axon-echo-")["MetricAlarms"]
    assert {(a["Namespace"], a["MetricName"]) for a in alarms} == {
        ("Axon/Api/echo", names.ASYNC_WORKER_ERRORS_METRIC),
        ("Axon/Api/echo", names.ASYNC_WORKER_LATENCY_METRIC),
    }
    assert all(a["Dimensions"] == [{"Name": "Version", "Value": "v1"}] for a in alarms)


def test_a_deploy_that_dies_after_the_queue_exists_converges_when_run_again(
    queued: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = version("v1")
    ecs = queued.platform.ecs

    def dies(**_: Any) -> Any:
        raise RuntimeError("the Lambda died")

    monkeypatch.setattr(ecs, "register_task_definition", dies)
    with pytest.raises(RuntimeError):
        queued.platform.deploy(v1, None)
    monkeypatch.undo()
    assert client("sqs").list_queues()["QueueUrls"]  # created before the crash
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    assert len(client("sqs").list_queues()["QueueUrls"]) == 2  # the queue and its DLQ, once
    assert queue_tags()[ecs_queue.TAG_LIVE] == "v1"


def test_a_first_version_goes_live_then_scales_to_zero_and_back(queued: World) -> None:
    v1 = version("v1", "autoscaling: {min_replicas: 0, init_replicas: 2}\n")
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    capacity = queued.platform.capacity("echo")
    assert capacity is not None and (capacity.requested, capacity.can_change) == (2, True)
    queued.platform.set_capacity("echo", names.VARIANT_NAME, 0)  # requests wait in the queue meanwhile
    queued.ecs.agent.sync()
    assert counts(queued, "v1") == [0]
    queued.platform.set_capacity("echo", names.VARIANT_NAME, 3)
    assert counts(queued, "v1") == [3]


def test_a_canary_is_a_share_of_tasks_beside_an_untouched_blue(queued: World) -> None:
    v1 = version("v1", "autoscaling: {init_replicas: 4}\n")
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    v2 = version("v2", "rollout: {strategy: canary, canary_percent: 25, bake_seconds: 60}\n")
    queued.platform.deploy(v2, v1)
    assert counts(queued, "v1", "v2") == [4, 1]  # green: 25 % of blue's 4
    assert poll(queued, v2, v1).phase == DeploymentPhase.IN_PROGRESS  # green runs: its bake starts
    capacity = queued.platform.capacity("echo")
    assert capacity is not None and not capacity.can_change  # the autoscaler waits for the rollout
    queued.advance(61)
    status = poll(queued, v2, v1)
    assert (status.phase, status.new_version_percent) == (DeploymentPhase.IN_PROGRESS, 100)
    assert counts(queued, "v1", "v2") == [4, 4]
    queued.advance(61)
    poll(queued, v2, v1)
    assert poll(queued, v2, v1).phase == DeploymentPhase.SUCCEEDED
    assert queue_tags()[ecs_queue.TAG_LIVE] == "v2" and ecs_queue.TAG_SHIFT not in queue_tags()
    queued.platform.retire(v2, v1)
    assert queued.service("echo", "v1") is None and counts(queued, "v2") == [4]


def test_an_alarm_during_the_canary_stops_green_and_leaves_blue_consuming(queued: World) -> None:
    v1 = version("v1", "autoscaling: {init_replicas: 2}\n")
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    v2 = version("v2", "rollout: {strategy: canary, canary_percent: 50, bake_seconds: 600}\n")
    queued.platform.deploy(v2, v1)
    assert poll(queued, v2, v1).phase == DeploymentPhase.IN_PROGRESS
    client("cloudwatch").set_alarm_state(AlarmName=names.alarm_name("echo", "5xx"), StateValue="ALARM", StateReason="t")
    status = poll(queued, v2, v1)
    assert status.phase == DeploymentPhase.ROLLED_BACK, status.message
    assert counts(queued, "v1", "v2") == [2, 0]
    assert queue_tags()[ecs_queue.TAG_LIVE] == "v1" and ecs_queue.TAG_SHIFT not in queue_tags()
    queued.platform.remove_version(v2)
    assert queued.service("echo", "v2") is None
    with pytest.raises(Exception, match="owns the API's queue"):
        queued.platform.remove_version(v1)


def test_delete_api_removes_the_queue_dlq_and_topics(queued: World) -> None:
    v1 = version("v1")
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    queued.platform.delete_api("echo")
    queued.platform.delete_api("echo")  # idempotent
    assert client("sqs").list_queues().get("QueueUrls", []) == []
    assert client("sns").list_topics()["Topics"] == []
    assert queued.platform.capacity("echo") is None


def test_a_real_time_api_keeps_at_least_one_task(queued: World) -> None:
    v1 = queued.live("v1")
    queued.platform.set_capacity(v1.api, names.VARIANT_NAME, 0)
    assert int(queued.service(v1.api, "v1")["desiredCount"]) == 1


def test_a_green_that_cannot_load_fails_at_once_and_blue_keeps_consuming(queued: World) -> None:
    v1 = version("v1", "autoscaling: {init_replicas: 2}\n")
    queued.platform.deploy(v1, None)
    go_live(queued, v1)
    v2 = version("v2", "rollout: {strategy: canary, canary_percent: 50, bake_seconds: 600}\n")
    queued.platform.deploy(v2, v1)
    queued.ecs.crash("axon-echo-v2", 3, [f"{names.MODEL_LOAD_FAILED_MARKER} Predictor.__init__ failed"])
    status = queued.platform.deployment_status(v2, v1)
    assert (status.phase, status.reason_code) == (DeploymentPhase.FAILED, "platform.model_load_failed")
    assert counts(queued, "v1", "v2") == [2, 0]  # green stops consuming; blue was never touched
    assert queue_tags()[ecs_queue.TAG_LIVE] == "v1"
