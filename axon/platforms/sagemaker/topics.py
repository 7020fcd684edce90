"""The SNS topics an async API's endpoint notifies (``AsyncInferenceConfig.OutputConfig.NotificationConfig``).

Two per API, ``axon-<api>-async-success`` and ``axon-<api>-async-error`` (:func:`axon.names.async_topic_name`),
created by the control plane before the endpoint config that names them and deleted with the API. CreateTopic is
idempotent for the same name and attributes, so a retried Deploy step gets the same ARNs back.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.errors import PlatformError
from axon.platforms.sagemaker.specs import AsyncTopics

SNSClient = Any  # boto3's SNS client (no mypy_boto3_sns stubs in this environment)


class AsyncTopicsError(PlatformError):
    """The platform was built without an SNS client or models bucket, so it cannot serve ``kind: async``."""

    code = "platform.async_unavailable"


def ensure_topics(sns: SNSClient, api: str) -> AsyncTopics:
    """Get-or-create the API's two topics (tagged with the API); returns their ARNs."""
    arns = [
        sns.create_topic(
            Name=names.async_topic_name(api, outcome),
            Tags=[{"Key": "axon:api", "Value": api}],
        )["TopicArn"]
        for outcome in names.ASYNC_TOPIC_OUTCOMES
    ]
    return AsyncTopics(success=arns[0], error=arns[1])


def delete_topics(sns: SNSClient, api: str) -> None:
    """Delete the API's topics, found by name (ListTopics); none left is success. Idempotent."""
    wanted = {names.async_topic_name(api, outcome) for outcome in names.ASYNC_TOPIC_OUTCOMES}
    found = [
        topic["TopicArn"]
        for page in sns.get_paginator("list_topics").paginate()
        for topic in page.get("Topics", [])
        if topic["TopicArn"].rsplit(":", 1)[-1] in wanted
    ]
    for arn in found:
        try:
            sns.delete_topic(TopicArn=arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFound":
                raise
