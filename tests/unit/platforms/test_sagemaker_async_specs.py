"""An async API's endpoint config, checked against botocore's own model of CreateEndpointConfig."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from axon.platforms.base import VersionRef
from axon.platforms.sagemaker import specs
from axon.spec import load_spec_text
from axon_local.sagemaker.errors import SageMakerApiError
from axon_local.sagemaker.validation import validate_request

TOPICS = specs.AsyncTopics(
    success="arn:aws:sns:us-east-1:123456789012:axon-iris-async-success",
    error="arn:aws:sns:us-east-1:123456789012:axon-iris-async-error",
)
_INPUT = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateEndpointConfig")


def _version(yaml: str) -> VersionRef:
    return VersionRef("iris", "v2", load_spec_text(yaml), "image:rt-abc", "s3://axon-models/versions/iris/v2/b.tgz")


def _check(request: dict[str, Any]) -> None:
    """botocore's checks plus the maximums, enums and patterns AWS enforces (the local SageMaker's validator)."""
    validate_request(request, _INPUT.input_shape)


def test_async_config_points_at_the_apis_own_prefixes_and_topics() -> None:
    version = _version("kind: async\nasync: {max_concurrent_invocations_per_instance: 4}")
    config = specs.async_inference_config(version, "axon-models", TOPICS)
    assert config == {
        "OutputConfig": {
            "S3OutputPath": "s3://axon-models/results/iris/",
            "S3FailurePath": "s3://axon-models/results/iris/failures/",
            "NotificationConfig": {"SuccessTopic": TOPICS.success, "ErrorTopic": TOPICS.error},
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    request = specs.endpoint_config_request(version, 1, config)
    assert request["AsyncInferenceConfig"] == config
    _check(request)


def test_response_in_notification_is_botocores_enum() -> None:
    version = _version("kind: async\nasync: {include_response_in_notification: true}")
    request = specs.endpoint_config_request(version, 2, specs.async_inference_config(version, "b", TOPICS))
    notification = request["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert notification["IncludeInferenceResponseIn"] == ["SUCCESS_NOTIFICATION_TOPIC"]
    _check(request)


def test_a_realtime_config_has_no_async_section() -> None:
    request = specs.endpoint_config_request(_version(""), 1)
    assert "AsyncInferenceConfig" not in request
    _check(request)


def test_the_check_itself_fails_on_a_bad_shape() -> None:
    version = _version("kind: async")
    request = specs.endpoint_config_request(version, 1, specs.async_inference_config(version, "b", TOPICS))
    request["AsyncInferenceConfig"]["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] = 0
    with pytest.raises(SageMakerApiError, match="MaxConcurrentInvocationsPerInstance"):
        _check(request)
    bad_topic = specs.AsyncTopics(success="not-an-arn", error=TOPICS.error)
    with pytest.raises(SageMakerApiError, match="successTopic"):
        _check(specs.endpoint_config_request(version, 1, specs.async_inference_config(version, "b", bad_topic)))
