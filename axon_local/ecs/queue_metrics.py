"""What SQS publishes to CloudWatch on AWS, for the local stack: the backlog of every ECS async API's queue.

On AWS, SQS puts ``ApproximateNumberOfMessagesVisible`` and ``ApproximateNumberOfMessagesNotVisible`` in ``AWS/SQS``
by ``QueueName`` for every active queue; the autoscaler reads them for an ECS async API (``names.SQS_NAMESPACE``,
``names.SQS_BACKLOG_METRICS``). moto publishes no metrics, so every ``period_seconds`` this publisher reads the
attributes of every ``axon-<api>-async`` queue (GetQueueAttributes: ``ApproximateNumberOfMessages`` is the visible
count) and puts the two datapoints into the local CloudWatch. Dead-letter queues are skipped (the autoscaler does
not read them). AWS publishes once a minute; locally every 10 s, so a test need not wait.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from axon import names

logger = logging.getLogger(__name__)

PERIOD_SECONDS = 10.0
_PREFIX = f"{names.PROJECT}-"
_SUFFIX = names.async_queue_name("x").removeprefix(f"{_PREFIX}x")  # "-async"
# GetQueueAttributes' name -> the CloudWatch metric SQS publishes for it
_ATTRIBUTES = dict(
    zip(
        ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"), names.SQS_BACKLOG_METRICS, strict=True
    )
)


def is_async_queue(name: str) -> bool:
    """``axon-<api>-async`` with a valid API name (not its ``-dlq``, not another queue)."""
    api = name.removeprefix(_PREFIX).removesuffix(_SUFFIX)
    return name.startswith(_PREFIX) and name.endswith(_SUFFIX) and names.is_valid_api_name(api)


class QueueMetricsPublisher:
    def __init__(self, sqs: Any, cloudwatch: Any, period_seconds: float = PERIOD_SECONDS) -> None:
        self._sqs = sqs
        self._cloudwatch = cloudwatch
        self._period = period_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="axon-sqs-metrics")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.publish()
            except (ClientError, BotoCoreError):  # the stack is stopping, or moto is busy: next period
                logger.debug("could not publish the SQS metrics", exc_info=True)

    def publish(self) -> int:
        """One round: both metrics of every async queue; returns how many queues were published."""
        urls: list[str] = []
        for page in self._sqs.get_paginator("list_queues").paginate(QueueNamePrefix=_PREFIX):
            urls += [url for url in page.get("QueueUrls") or [] if is_async_queue(url.rsplit("/", 1)[-1])]
        stamp = datetime.now(UTC)
        for url in urls:
            try:
                found = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_ATTRIBUTES))["Attributes"]
            except ClientError:  # deleted since it was listed
                continue
            dimensions = [{"Name": "QueueName", "Value": url.rsplit("/", 1)[-1]}]
            self._cloudwatch.put_metric_data(
                Namespace=names.SQS_NAMESPACE,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": float(found.get(attribute, 0)),
                        "Unit": "Count",
                    }
                    for attribute, metric in _ATTRIBUTES.items()
                ],
            )
        return len(urls)
