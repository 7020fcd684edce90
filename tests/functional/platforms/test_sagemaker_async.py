"""SageMaker on moto: an async API's topics, endpoint config and role, created before the endpoint and gone with
the API (issue 15)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from axon import names
from axon.platforms.api_roles import Account, ApiRoles, boundary_policy
from axon.platforms.base import DeploymentPhase, VersionRef
from axon.platforms.isolated import IsolatedPlatform
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.platforms.sagemaker.topics import AsyncTopicsError
from axon.spec import load_spec_text
from axon_local.patches import moto_patches
from tests.functional.platforms.conftest import client

ASYNC = "kind: async\nasync: {max_concurrent_invocations_per_instance: 3}\n"
ROLE = "arn:aws:iam::123456789012:role/axon-sagemaker-execution"


@pytest.fixture
def platform(aws: None) -> Iterator[SageMakerPlatform]:
    with moto_patches():
        yield SageMakerPlatform(
            client("sagemaker"),
            client("sagemaker-runtime"),
            client("cloudwatch"),
            ROLE,
            sns=client("sns"),
            models_bucket="axon-models",
        )


def version(label: str, yaml: str = ASYNC, api: str = "iris") -> VersionRef:
    return VersionRef(api, label, load_spec_text(yaml), "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", f"s3://m/{label}")


def topics() -> list[str]:
    return sorted(t["TopicArn"].rsplit(":", 1)[-1] for t in client("sns").list_topics()["Topics"])


def config(label: str, api: str = "iris") -> Any:
    return client("sagemaker").describe_endpoint_config(EndpointConfigName=names.endpoint_config_name(api, label))


def settle(platform: SageMakerPlatform, v: VersionRef, previous: VersionRef | None) -> None:
    deadline = time.monotonic() + 10
    while platform.deployment_status(v, previous).phase == DeploymentPhase.IN_PROGRESS:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_an_async_api_gets_its_topics_and_an_async_endpoint_config(platform: SageMakerPlatform) -> None:
    v1 = version("v1")
    platform.deploy(v1, None)
    platform.deploy(v1, None)  # a retried Deploy step: the same topics, nothing twice
    assert topics() == ["axon-iris-async-error", "axon-iris-async-success"]
    async_config = config("v1")["AsyncInferenceConfig"]
    notification = async_config["OutputConfig"]["NotificationConfig"]
    assert notification["SuccessTopic"].endswith(":axon-iris-async-success")
    assert notification["ErrorTopic"].endswith(":axon-iris-async-error")
    assert async_config["OutputConfig"]["S3OutputPath"] == "s3://axon-models/results/iris/"
    assert async_config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 3}
    settle(platform, v1, None)
    v2 = version("v2", ASYNC + "rollout: {strategy: canary, canary_percent: 20}")
    platform.deploy(v2, v1)  # guardrails apply to async endpoints: the same blue/green update
    assert config("v2")["AsyncInferenceConfig"]["OutputConfig"] == async_config["OutputConfig"]
    settle(platform, v2, v1)
    platform.delete_api("iris")
    assert topics() == []


def test_a_realtime_api_gets_no_topics_and_leaves_other_apis_topics(platform: SageMakerPlatform) -> None:
    platform.deploy(version("v1", api="other"), None)
    platform.deploy(version("v1", yaml=""), None)
    assert "AsyncInferenceConfig" not in config("v1")
    platform.delete_api("iris")
    assert topics() == ["axon-other-async-error", "axon-other-async-success"]


def test_a_failed_first_async_version_takes_its_topics_with_it(platform: SageMakerPlatform) -> None:
    v1 = version("v1")
    platform.deploy(v1, None)
    platform.rollback(v1, None)
    assert topics() == []


def test_a_platform_without_sns_refuses_async_before_creating_the_config(aws: None) -> None:
    with moto_patches():
        bare = SageMakerPlatform(client("sagemaker"), client("sagemaker-runtime"), client("cloudwatch"), ROLE)
        with pytest.raises(AsyncTopicsError) as caught:
            bare.deploy(version("v1"), None)
        assert caught.value.code == "platform.async_unavailable"
        assert client("sagemaker").list_endpoint_configs()["EndpointConfigs"] == []


def test_the_api_role_of_an_async_api_reaches_only_its_own_prefixes_and_topics(platform: SageMakerPlatform) -> None:
    iam = client("iam")
    account = Account("aws", "123456789012", "us-east-1", "axon-models", "axon-serving")
    iam.create_policy(
        PolicyName=names.API_ROLE_BOUNDARY,
        Path=names.API_ROLE_BOUNDARY_PATH,
        PolicyDocument=json.dumps(boundary_policy(account)),
    )
    isolated = IsolatedPlatform(platform, ApiRoles(iam, account))
    isolated.deploy(version("v1"), None)
    isolated.deploy(version("v1", yaml="", api="plain"), None)

    def statements(api: str) -> dict[str, Any]:
        policy = iam.get_role_policy(RoleName=names.api_role_name(api), PolicyName="axon-api")["PolicyDocument"]
        return {s["Sid"]: s for s in policy["Statement"]}

    own = statements("iris")
    assert own["OwnAsyncInputs"]["Resource"] == "arn:aws:s3:::axon-models/inputs/iris/*"
    assert own["OwnAsyncResults"]["Resource"] == "arn:aws:s3:::axon-models/results/iris/*"
    assert own["OwnAsyncTopics"]["Resource"] == [
        "arn:aws:sns:us-east-1:123456789012:axon-iris-async-success",
        "arn:aws:sns:us-east-1:123456789012:axon-iris-async-error",
    ]
    assert not {"OwnAsyncInputs", "OwnAsyncResults", "OwnAsyncTopics"} & set(statements("plain"))


def test_an_async_api_scaled_to_zero_reports_zero_requested(platform: SageMakerPlatform) -> None:
    """DesiredInstanceCount 0 is a count, not a missing value: the autoscaler must see 0 to start one from zero."""
    v1 = version("v1", ASYNC + "autoscaling: {min_replicas: 0}")
    platform.deploy(v1, None)
    settle(platform, v1, None)
    capacity = platform.capacity("iris")
    assert capacity is not None and capacity.requested == 1
    platform.set_capacity("iris", capacity.variant, 0)
    scaled = platform.capacity("iris")
    assert scaled is not None and (scaled.requested, scaled.ready) == (0, 0)
    # While its last instance drains, SageMaker reports Desired 0 with Current 1: requested is 0, not 1.
    real = platform.sagemaker.describe_endpoint

    def draining(**kwargs: Any) -> Any:
        described = real(**kwargs)
        described["ProductionVariants"][0]["CurrentInstanceCount"] = 1
        return described

    platform.sagemaker.describe_endpoint = draining  # type: ignore[method-assign]
    assert platform.capacity("iris") == replace(scaled, ready=1)
    assert [(s.requested, s.ready) for s in platform.replica_sets("iris") or []] == [(0, 1)]
