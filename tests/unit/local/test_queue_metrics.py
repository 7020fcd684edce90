"""The local stack's stand-in for SQS's CloudWatch metrics: the backlog of every ECS async API's queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon_local.ecs.queue_metrics import QueueMetricsPublisher, is_async_queue


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1"), boto3.client("cloudwatch", region_name="us-east-1")


def _latest(cloudwatch: Any, queue: str, metric: str) -> float:
    stats = cloudwatch.get_metric_statistics(
        Namespace=names.SQS_NAMESPACE,
        MetricName=metric,
        Dimensions=[{"Name": "QueueName", "Value": queue}],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return float(max(point["Maximum"] for point in stats))


def test_every_async_queue_gets_both_backlog_metrics_by_queue_name(aws: tuple[Any, Any]) -> None:
    sqs, cloudwatch = aws
    queue = names.async_queue_name("echo")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    for name in (names.async_dlq_name("echo"), "axon-other", "unrelated-async"):
        sqs.create_queue(QueueName=name)
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
    assert QueueMetricsPublisher(sqs, cloudwatch).publish() == 1
    visible, in_flight = names.SQS_BACKLOG_METRICS
    assert _latest(cloudwatch, queue, visible) == 2.0
    assert _latest(cloudwatch, queue, in_flight) == 1.0
    published = {m["Dimensions"][0]["Value"] for m in cloudwatch.list_metrics(Namespace=names.SQS_NAMESPACE)["Metrics"]}
    assert published == {queue}


def test_only_api_queues_count() -> None:
    assert is_async_queue("axon-echo-async")
    assert not is_async_queue("axon-echo-async-dlq") and not is_async_queue("axon--async")
