"""An ECS async API's SQS queue and dead-letter queue, and the rollout state kept in the queue's tags.

One queue per API (``names.async_queue_name``: ``axon-<api>-async``) that every version's tasks drain, plus
``axon-<api>-async-dlq``, where a message ends after ``MAX_RECEIVE_COUNT`` receives (a request the worker can never
process, or one whose task keeps dying). Both are encrypted with SQS-managed keys (``SqsManagedSseEnabled``). The
visibility timeout covers one invocation (``serving.request_timeout_seconds`` plus a margin); the worker extends it
while the model runs.

An existing queue is found by name and gets the wanted attributes with SetQueueAttributes (CreateQueue is idempotent
only for equal attributes, and the serving timeout may have changed), so a rerun of Deploy, or a new version,
converges without touching the queue's tags. A rollout of an async API has
no listener rule or target group to hold its progress, so it lives in the queue's tags (``TAG_LIVE``,
``TAG_SHIFT``), read back by every poll and by ``capacity``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from axon import names
from axon.async_message import QUEUE_MISSING_CODES
from axon.platforms.errors import PlatformError
from axon.spec import ApiSpec

SQSClient = Any  # boto3's SQS client (mypy_boto3_sqs is not installed here)

MAX_RECEIVE_COUNT = names.ASYNC_MAX_RECEIVES  # receives before SQS moves a message to the DLQ (crashes count too)
QUEUE_RETENTION_SECONDS = 345_600  # 4 days (SQS's default), well over RequestTTLSeconds' 6 h maximum
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days (SQS's maximum): a standard queue keeps a message's first enqueue time
RECEIVE_WAIT_SECONDS = 20
VISIBILITY_MARGIN_SECONDS = 30
MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit (12 h)
TAG_API = "axon:api"
TAG_LIVE = "axon:live"  # the label of the version that owns the queue (its service is the API's capacity)
TAG_SHIFT = "axon:shift"  # "<label>:<percent>@<epoch>": the rollout's step, and when its bake began
_EXISTS = {"QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists"}
_DELETED_RECENTLY = {"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently"}


class QueueUnavailableError(PlatformError):
    """SQS refused the API's queue (for example: one of that name was deleted less than 60 s ago)."""

    code = "platform.async_queue"


@dataclass(frozen=True)
class QueueRef:
    url: str
    arn: str


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def visibility_seconds(spec: ApiSpec) -> int:
    """One invocation's worth: the serving timeout plus a margin for the input read and the outcome's write."""
    return min(MAX_VISIBILITY_SECONDS, math.ceil(spec.serving.request_timeout_seconds) + VISIBILITY_MARGIN_SECONDS)


def queue_attributes(spec: ApiSpec, dlq_arn: str) -> dict[str, str]:
    return {
        "VisibilityTimeout": str(visibility_seconds(spec)),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": str(RECEIVE_WAIT_SECONDS),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
    }


def dlq_attributes() -> dict[str, str]:
    return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}


def ensure_queues(sqs: SQSClient, api: str, spec: ApiSpec) -> QueueRef:
    """Get-or-create the DLQ, then the queue that redrives to it, with the attributes ``spec`` asks for."""
    dlq = _ensure(sqs, names.async_dlq_name(api), dlq_attributes(), api)
    return _ensure(sqs, names.async_queue_name(api), queue_attributes(spec, dlq.arn), api)


def _ensure(sqs: SQSClient, name: str, attributes: dict[str, str], api: str) -> QueueRef:
    """Looked up first: CreateQueue on an existing queue is refused for other attributes, and its tags must not be
    touched (they hold the rollout's state). A queue created meanwhile by another call is taken as found."""
    url = _url(sqs, name)
    if url is None:
        try:
            url = str(sqs.create_queue(QueueName=name, Attributes=attributes, tags={TAG_API: api})["QueueUrl"])
        except ClientError as error:
            code = error_code(error)
            if code in _DELETED_RECENTLY:
                raise QueueUnavailableError(
                    f"SQS queue {name} was deleted less than 60 s ago and cannot be created again yet; upload "
                    "again in a minute"
                ) from None
            if code not in _EXISTS:
                raise
    url = url or str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueRef(url, str(arn))


def _url(sqs: SQSClient, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as error:
        if error_code(error) in QUEUE_MISSING_CODES:
            return None
        raise


def queue_url(sqs: SQSClient, api: str) -> str | None:
    """The API's queue, or ``None`` when it has none (a real-time API, or one not yet deployed)."""
    return _url(sqs, names.async_queue_name(api))


def delete_queues(sqs: SQSClient, api: str) -> None:
    """Delete the queue and its DLQ; what is gone is success. Idempotent."""
    for name in (names.async_queue_name(api), names.async_dlq_name(api)):
        url = _url(sqs, name)
        if url is None:
            continue
        try:
            sqs.delete_queue(QueueUrl=url)
        except ClientError as error:
            if error_code(error) not in QUEUE_MISSING_CODES:
                raise


# ---- rollout state in the queue's tags --------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    label: str
    percent: int
    since: int  # epoch seconds: when this step's count was set

    def tag(self) -> str:
        return f"{self.label}:{self.percent}@{self.since}"

    @classmethod
    def parse(cls, value: str | None) -> Shift | None:
        label, sep, rest = (value or "").partition(":")
        percent, at_sep, since = rest.partition("@")
        if not sep or not at_sep or not label or not percent.isdigit() or not since.isdigit():
            return None
        return cls(label, int(percent), int(since))


def tags(sqs: SQSClient, url: str) -> dict[str, str]:
    return dict(sqs.list_queue_tags(QueueUrl=url).get("Tags") or {})


def tag(sqs: SQSClient, url: str, values: dict[str, str]) -> None:
    sqs.tag_queue(QueueUrl=url, Tags=values)


def untag(sqs: SQSClient, url: str, keys: list[str]) -> None:
    sqs.untag_queue(QueueUrl=url, TagKeys=keys)
