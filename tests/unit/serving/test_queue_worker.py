"""The worker-mode poller (``axon_serving.queue_worker``) against moto's SQS, S3 and SNS, with a fake model.

The queues are made by the ECS platform's own ``ensure_queues`` (DLQ, redrive, SSE), so the poison-message test
exercises the redrive policy the platform sets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from axon_serving.queue_worker import Answer, QueueWorker, ServerUnavailableError, WorkerSettings, retry_delay
from moto import mock_aws

from axon import names
from axon.async_message import AsyncRequest
from axon.platforms.ecs import queue as ecs_queue
from axon.spec import ApiSpec

API = "echo"
BUCKET = "axon-models"
REGION = "us-east-1"


class Recorder:
    """A boto3 client whose calls are recorded in one shared list (to check their order)."""

    def __init__(self, client: Any, calls: list[str]) -> None:
        self._client, self._calls = client, calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(name)
            return attribute(*args, **kwargs)

        return call


@dataclass
class World:
    sqs: Any
    s3: Any
    sns: Any
    queue: ecs_queue.QueueRef
    settings: WorkerSettings
    notices: str  # an SQS queue subscribed to both topics
    calls: list[str]

    def submit(self, body: bytes, inference_id: str, ttl: int = 3600) -> None:
        request = AsyncRequest.for_api(API, BUCKET, inference_id, content_type="application/json", ttl_seconds=ttl)
        self.s3.put_object(Bucket=BUCKET, Key=f"{names.async_input_prefix(API)}{inference_id}", Body=body)
        self.sqs.send_message(QueueUrl=self.queue.url, MessageBody=request.to_json())

    def worker(self, invoke: Any, **settings: Any) -> QueueWorker:
        return QueueWorker(
            replace(self.settings, **settings),
            Recorder(self.sqs, self.calls),
            Recorder(self.s3, self.calls),
            Recorder(self.sns, self.calls),
            invoke,
            wait_seconds=0,
        )

    def receive(self, visibility: int = 30) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        return list(found.get("Messages") or [])

    def object(self, key: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def notifications(self) -> list[dict[str, Any]]:
        found = (
            self.sqs.receive_message(QueueUrl=self.notices, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages")
            or []
        )
        return [json.loads(json.loads(m["Body"])["Message"]) for m in found]

    def count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sqs: Any = boto3.client("sqs", region_name=REGION)
        s3: Any = boto3.client("s3", region_name=REGION)
        sns: Any = boto3.client("sns", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        queue = ecs_queue.ensure_queues(sqs, API, ApiSpec(kind="async"))
        notices = sqs.create_queue(QueueName="notices")["QueueUrl"]
        notices_arn = sqs.get_queue_attributes(QueueUrl=notices, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topics = {}
        for outcome in names.ASYNC_TOPIC_OUTCOMES:
            topics[outcome] = sns.create_topic(Name=names.async_topic_name(API, outcome))["TopicArn"]
            sns.subscribe(TopicArn=topics[outcome], Protocol="sqs", Endpoint=notices_arn)
        settings = WorkerSettings(
            api=API,
            version="v2",
            queue_url=queue.url,
            success_topic=topics["success"],
            error_topic=topics["error"],
            max_concurrency=2,
            visibility_seconds=30,
            region=REGION,
        )
        yield World(sqs, s3, sns, queue, settings, notices, [])


def echo(body: bytes, content_type: str, accept: str | None) -> Answer:
    return Answer(200, b'{"echo":' + body + b"}", "application/json")


def test_an_answer_is_written_and_notified_before_its_message_is_deleted(world: World) -> None:
    world.submit(b'{"text":"hi"}', "a1")
    [message] = world.receive()
    world.worker(echo).handle(message)
    assert world.object(names.async_output_key(API, "a1")) == b'{"echo":{"text":"hi"}}'
    assert world.calls.index("delete_message") > world.calls.index("put_object")
    assert world.calls.index("delete_message") > world.calls.index("publish")
    assert world.count(world.queue.url) == 0
    [notice] = world.notifications()
    assert notice["invocationStatus"] == "Completed"
    assert notice["inferenceId"] == "a1"
    assert notice["requestParameters"]["endpointName"] == names.endpoint_name(API)
    assert notice["responseParameters"] == {
        "contentType": "application/json",
        "outputLocation": f"s3://{BUCKET}/{names.async_output_key(API, 'a1')}",
    }


def test_a_model_error_is_a_failure_outcome_on_the_error_topic(world: World) -> None:
    def fails(body: bytes, content_type: str, accept: str | None) -> Answer:
        return Answer(500, b'{"error":{"code":"PredictorError","message":"boom"}}', "application/json")

    world.submit(b"{}", "f1")
    [message] = world.receive()
    world.worker(fails).handle(message)
    failure = world.object(names.async_failure_key(API, "f1"))
    assert failure is not None and b"boom" in failure
    [notice] = world.notifications()
    assert notice["invocationStatus"] == "Failed"
    assert notice["failureReason"].startswith("ModelError: Received server error (500)")
    assert world.count(world.queue.url) == 0


def test_a_crash_mid_request_leaves_the_message_to_be_received_again(world: World) -> None:
    def crashes(body: bytes, content_type: str, accept: str | None) -> Answer:
        raise ServerUnavailableError("the model server died")

    world.submit(b"{}", "c1")
    [message] = world.receive(visibility=1)
    worker = world.worker(crashes)
    with pytest.raises(ServerUnavailableError):
        worker.handle(message)
    assert "delete_message" not in world.calls
    assert world.object(names.async_output_key(API, "c1")) is None
    time.sleep(1.2)
    [again] = world.receive()
    assert again["MessageId"] == message["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    world.worker(echo).handle(again)  # another worker answers it
    assert world.object(names.async_output_key(API, "c1")) is not None


def test_a_failed_outcome_write_leaves_the_message(world: World) -> None:
    world.submit(b"{}", "w1")
    [message] = world.receive()
    worker = world.worker(echo, success_topic=f"arn:aws:sns:{REGION}:123456789012:gone")
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        worker.handle(message)
    assert "delete_message" not in world.calls


def test_a_poison_message_ends_in_the_dead_letter_queue(world: World) -> None:
    world.sqs.send_message(QueueUrl=world.queue.url, MessageBody="not a request")
    worker = world.worker(echo)
    for _ in range(ecs_queue.MAX_RECEIVE_COUNT):
        [message] = world.receive()
        worker.handle(message)  # refused, handed back at once (never deleted)
    assert world.receive() == []
    dlq = world.sqs.get_queue_url(QueueName=names.async_dlq_name(API))["QueueUrl"]
    [dead] = world.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages") or []
    assert dead["Body"] == "not a request"
    assert "delete_message" not in world.calls


def test_an_expired_request_is_a_failure_outcome(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.submit(b"{}", "e1", ttl=60)
    [message] = world.receive()
    worker = world.worker(echo)
    worker._clock = lambda: time.time() + 61  # the request waited past its TTL
    worker.handle(message)
    assert world.object(names.async_output_key(API, "e1")) is None
    [notice] = world.notifications()
    assert notice["failureReason"].startswith("RequestExpired")
    assert world.count(world.queue.url) == 0


def test_an_input_of_another_api_is_never_read(world: World) -> None:
    other = AsyncRequest.for_api("other", BUCKET, "x1")
    world.sqs.send_message(QueueUrl=world.queue.url, MessageBody=other.to_json())
    [message] = world.receive()
    world.worker(echo).handle(message)
    assert "get_object" not in world.calls and "head_object" not in world.calls


def test_run_holds_at_most_max_concurrency_and_a_stop_drains_what_it_holds(world: World) -> None:
    running, peak, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def slow(body: bytes, content_type: str, accept: str | None) -> Answer:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return echo(body, content_type, accept)

    for n in range(5):
        world.submit(b"{}", f"s{n}")
    worker = world.worker(slow, visibility_seconds=3)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 30.0))
    thread.start()
    deadline = time.monotonic() + 10
    while worker.held < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.5)  # a keeper interval: the held messages' visibility is extended
    stop.set()  # SIGTERM: no more receives; the two held requests finish
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert peak[0] == 2
    answered = [n for n in range(5) if world.object(names.async_output_key(API, f"s{n}")) is not None]
    assert len(answered) == 2
    assert world.calls.count("delete_message") == 2
    assert "change_message_visibility" in world.calls
    assert world.count(world.queue.url) == 3  # the rest wait for another task


def test_the_last_delivery_of_a_request_the_server_cannot_take_is_a_failure_outcome(world: World) -> None:
    """After ``ASYNC_MAX_RECEIVES`` deliveries SQS would move the request to the DLQ with no answer and no failure:
    the last delivery writes the failure and notifies instead; earlier ones hand it back, later each time."""

    def unavailable(body: bytes, content_type: str, accept: str | None) -> Answer:
        raise ServerUnavailableError("the model server answered 503")

    world.submit(b"{}", "u1")
    worker = world.worker(unavailable)
    for delivery in range(1, names.ASYNC_MAX_RECEIVES):
        [message] = world.receive(visibility=0)
        assert message["Attributes"]["ApproximateReceiveCount"] == str(delivery)
        with pytest.raises(ServerUnavailableError):
            worker.handle(message)
    [last] = world.receive()
    worker.handle(last)
    assert world.object(names.async_failure_key(API, "u1")) is not None
    [notice] = world.notifications()
    assert notice["invocationStatus"] == "Failed" and notice["failureReason"].startswith("ServiceUnavailable")
    assert world.count(world.queue.url) == 0  # deleted, not left to the dead-letter queue
    dlq = world.sqs.get_queue_url(QueueName=names.async_dlq_name(API))["QueueUrl"]
    assert world.count(dlq) == 0


def test_a_message_handed_back_waits_longer_each_delivery() -> None:
    assert [retry_delay(n, 90) for n in range(1, 7)] == [5, 10, 20, 40, 80, 90]  # capped at the visibility timeout


def test_an_input_over_the_servers_body_limit_is_a_failure_unread_and_an_empty_one_is_answered(world: World) -> None:
    world.submit(b"x" * 100, "big")
    world.submit(b"", "empty")
    worker = world.worker(echo, max_input_bytes=64)  # serving.max_request_bytes: the server would answer 413
    for message in world.receive():
        worker.handle(message)
    assert "get_object" not in world.calls  # the empty input needs no read; the large one is refused by its size
    failure = world.object(names.async_failure_key(API, "big"))
    assert failure is not None and b"100 bytes; the limit is 64" in failure
    assert world.object(names.async_output_key(API, "empty")) == b'{"echo":}'
