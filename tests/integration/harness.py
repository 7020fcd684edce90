"""What the local-stack end-to-end tests share: a stack per module, clients made once, waiting helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from axon import names
from axon.registry import DynamoDBRegistry, VersionRecord, keys
from axon_local.stack import LocalOptions, LocalStack

ROOT = Path(__file__).resolve().parents[2]
_CLIENTS_LOCK = threading.Lock()


@dataclass
class LocalClients:
    stack: LocalStack
    # Taken once at start: in-process Lambda invocations change os.environ on other threads while they run.
    cli_env: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """One shared client per service (boto3 clients are thread-safe), made up front: creating one reads
        os.environ, which in-process Lambda invocations change on other threads."""
        with _CLIENTS_LOCK:
            if service not in self.clients:
                self.clients[service] = boto3.client(service, config=Config(retries={"max_attempts": 1}))  # type: ignore[call-overload]
            return self.clients[service]

    @property
    def registry(self) -> DynamoDBRegistry:
        return DynamoDBRegistry("axon-registry", self.client("dynamodb"))

    def upload(self, api: str, data: bytes, filename: str = "bundle.tar.gz") -> str:
        answer = self.client("s3").put_object(Bucket="axon-models", Key=f"apis/{api}/{filename}", Body=data)
        return str(answer["VersionId"])

    def wait_final(self, api: str, version_id: str, timeout: float = 120) -> VersionRecord:
        record: VersionRecord = self.wait_for(
            lambda: (r := self.registry.find_version(api, version_id)) is not None and r.status.is_final and r,
            f"{api} {version_id} to finish",
            timeout,
        )
        return record

    def axon(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this stack; asserts it exits 0 (or not, with ``ok=False``)."""
        env = {**os.environ, **self.stack.environment()}
        done = subprocess.run(
            [sys.executable, "-m", "axon.cli", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done

    def watch_outcomes(self, api: str, outcome: str) -> str:
        """An SQS queue subscribed to the async API's ``outcome`` topic, as a user would wire one; its URL."""
        sqs, sns = self.client("sqs"), self.client("sns")
        url = sqs.create_queue(QueueName=f"watch-{api}-{outcome}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topic = next(
            t["TopicArn"]
            for t in sns.list_topics()["Topics"]
            if t["TopicArn"].endswith(f":{names.async_topic_name(api, outcome)}")
        )
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        return str(url)

    def notification(self, url: str) -> dict[str, Any]:
        """The next notification on a :meth:`watch_outcomes` queue."""
        messages = self.wait_for(
            lambda: self.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"),
            "the notification",
            timeout=20,
        )
        found: dict[str, Any] = json.loads(messages[0]["Body"])
        return found

    def decisions(self, api: str) -> list[dict[str, Any]]:
        """The autoscaler's decision records of ``api`` in the registry, oldest first, as plain values."""
        items = self.client("dynamodb").query(
            TableName=names.REGISTRY_TABLE,
            KeyConditionExpression=f"{keys.PARTITION_KEY} = :pk AND begins_with({keys.SORT_KEY}, :decision)",
            ExpressionAttributeValues={":pk": {"S": keys.api_pk(api)}, ":decision": {"S": keys.DECISION_PREFIX}},
        )["Items"]
        return [{name: TypeDeserializer().deserialize(value) for name, value in item.items()} for item in items]

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")


L = TypeVar("L", bound=LocalClients)


@contextmanager
def running_stack(kind: type[L], cache_dir: Path, services: tuple[str, ...]) -> Iterator[L]:
    """A local stack with short waits (the tests fire the schedule themselves); the environment is restored."""
    saved = dict(os.environ)
    stack = LocalStack(
        LocalOptions(
            port=0, tick_seconds=3600, wait_scale=0.05, time_scale=20, cache_dir=cache_dir, ping_timeout_seconds=15
        )
    ).start()
    try:
        local = kind(stack, dict(os.environ))
        for service in services:  # before any Lambda runs
            local.client(service)
        yield local
    finally:
        stack.close()
        os.environ.clear()
        os.environ.update(saved)
