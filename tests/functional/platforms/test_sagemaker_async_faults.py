"""Fault injection for an async API's SNS topics (issue 15): a crash between creating the two topics, between the
topics and CreateEndpointConfig, and during their deletion, then the same step run again. It must converge:
exactly the API's two topics after a rerun of Deploy (and the endpoint config naming them), none after a rerun of a
delete or a first version's rollback, and another API's topics, config and endpoint untouched throughout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from axon import names
from axon.platforms.base import DeploymentPhase, VersionRef
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.spec import load_spec_text
from axon_local.patches import moto_patches
from tests.functional.platforms.conftest import client

ASYNC = "kind: async\n"
ROLE = "arn:aws:iam::123456789012:role/axon-sagemaker-execution"
OTHER = "iris-2"  # a live API whose name starts like the faulted one's


class Crash(Exception):
    """The Lambda died here (timeout, out of memory): nothing after this point of the step ran."""


class Faulty:
    """A boto3 client whose ``nth`` call of ``operation`` crashes: before it reaches AWS, or after it succeeded."""

    def __init__(self, inner: Any, operation: str, nth: int, *, after: bool) -> None:
        self._inner, self._operation, self._nth, self._after = inner, operation, nth, after
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if name != self._operation:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._nth and not self._after:
                raise Crash(f"{name} #{self._nth}, before it was sent")
            result = method(*args, **kwargs)
            if self.calls == self._nth and self._after:
                raise Crash(f"{name} #{self._nth}, after it succeeded")
            return result

        return call


def make_platform(sns: Any = None, sagemaker: Any = None) -> SageMakerPlatform:
    return SageMakerPlatform(
        sagemaker or client("sagemaker"),
        client("sagemaker-runtime"),
        client("cloudwatch"),
        ROLE,
        sns=sns or client("sns"),
        models_bucket="axon-models",
    )


def version(label: str, api: str = "iris") -> VersionRef:
    return VersionRef(api, label, load_spec_text(ASYNC), "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", f"s3://m/{label}")


def topic_arns() -> dict[str, str]:
    """Every topic in the account: name -> ARN."""
    arns = (t["TopicArn"] for page in client("sns").get_paginator("list_topics").paginate() for t in page["Topics"])
    return {arn.rsplit(":", 1)[-1]: arn for arn in arns}


def own_topics(api: str) -> list[str]:
    return [names.async_topic_name(api, outcome) for outcome in names.ASYNC_TOPIC_OUTCOMES]


def settle(platform: SageMakerPlatform, v: VersionRef) -> None:
    deadline = time.monotonic() + 10
    while (phase := platform.deployment_status(v, None).phase) == DeploymentPhase.IN_PROGRESS:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert phase == DeploymentPhase.SUCCEEDED


def live_state() -> Any:
    """What a fault must never touch: the other API's topics, endpoint and endpoint config."""
    sagemaker = client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=names.endpoint_name(OTHER))
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    topics = {name: arn for name, arn in topic_arns().items() if name in own_topics(OTHER)}
    return endpoint["EndpointStatus"], endpoint["EndpointConfigName"], config["AsyncInferenceConfig"], topics


@pytest.fixture
def other(aws: None) -> Iterator[Any]:
    """Another async API, deployed and InService before the faulted one; its state as :func:`live_state` reads it."""
    with moto_patches():
        platform = make_platform()
        first = version("v1", api=OTHER)
        platform.deploy(first, None)
        settle(platform, first)
        before = live_state()
        assert sorted(before[3]) == sorted(own_topics(OTHER))
        yield before
        assert live_state() == before


# (client, operation, nth call, crash after the call succeeded)
DEPLOY_FAULTS = [
    ("sns", "create_topic", 1, True),  # the success topic exists, the error topic not yet
    ("sns", "create_topic", 2, False),
    ("sns", "create_topic", 2, True),  # both topics, no endpoint config yet
    ("sagemaker", "create_endpoint_config", 1, False),
    ("sagemaker", "create_endpoint_config", 1, True),  # the config names the topics; no endpoint yet
    ("sagemaker", "create_endpoint", 1, True),
]


def _faulted(service: str, operation: str, nth: int, after: bool) -> tuple[SageMakerPlatform, Faulty]:
    faulty = Faulty(client(service), operation, nth, after=after)
    platform = make_platform(**{service: faulty})
    return platform, faulty


def assert_deployed(api: str = "iris") -> None:
    """Exactly the API's two topics, and its endpoint config names those very topics."""
    arns = topic_arns()
    assert sorted(name for name in arns if name not in own_topics(OTHER)) == sorted(own_topics(api))
    config = client("sagemaker").describe_endpoint_config(EndpointConfigName=names.endpoint_config_name(api, "v1"))
    notification = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert notification == {
        "SuccessTopic": arns[names.async_topic_name(api, "success")],
        "ErrorTopic": arns[names.async_topic_name(api, "error")],
    }


@pytest.mark.parametrize(("service", "operation", "nth", "after"), DEPLOY_FAULTS)
def test_a_deploy_that_crashed_converges_when_run_again(
    other: Any, service: str, operation: str, nth: int, after: bool
) -> None:
    v1 = version("v1")
    platform, faulty = _faulted(service, operation, nth, after)
    with pytest.raises(Crash):
        platform.deploy(v1, None)
    assert faulty.calls == nth
    healthy = make_platform()
    healthy.deploy(v1, None)  # the Deploy step's retry
    assert_deployed()
    settle(healthy, v1)
    healthy.deploy(v1, None)  # and once more after it succeeded: still nothing twice
    assert_deployed()


@pytest.mark.parametrize(("service", "operation", "nth", "after"), DEPLOY_FAULTS)
def test_a_first_version_that_crashed_and_is_rolled_back_leaves_no_topic(
    other: Any, service: str, operation: str, nth: int, after: bool
) -> None:
    """The workflow's failure path: Deploy gave up, the first version is rolled back, the API's topics go."""
    v1 = version("v1")
    platform, _ = _faulted(service, operation, nth, after)
    with pytest.raises(Crash):
        platform.deploy(v1, None)
    make_platform().rollback(v1, None)
    assert [name for name in topic_arns() if name not in own_topics(OTHER)] == []


DELETE_FAULTS = [
    ("sns", "delete_topic", 1, False),
    ("sns", "delete_topic", 1, True),  # one topic gone, the other left
    ("sns", "delete_topic", 2, False),
    ("sns", "delete_topic", 2, True),
    ("sns", "list_topics", 1, False),
    ("sagemaker", "delete_endpoint", 1, True),  # before the topics are reached
]


@pytest.mark.parametrize("step", ["delete_api", "rollback"])
@pytest.mark.parametrize(("service", "operation", "nth", "after"), DELETE_FAULTS)
def test_a_delete_that_crashed_converges_when_run_again(
    other: Any, step: str, service: str, operation: str, nth: int, after: bool
) -> None:
    v1 = version("v1")
    healthy = make_platform()
    healthy.deploy(v1, None)
    settle(healthy, v1)
    assert_deployed()
    platform, faulty = _faulted(service, operation, nth, after)
    run: Callable[[SageMakerPlatform], None] = (
        (lambda p: p.delete_api("iris")) if step == "delete_api" else (lambda p: p.rollback(v1, None))
    )
    if operation == "list_topics":  # the paginator calls the client's own method: fault the paginator instead
        platform.sns = _ListFails(client("sns"))
    with pytest.raises(Crash):
        run(platform)
    assert faulty.calls == nth or operation == "list_topics"
    run(make_platform())  # the step's retry
    assert [name for name in topic_arns() if name not in own_topics(OTHER)] == []
    run(make_platform())  # and again: deleting what is gone is success
    assert [name for name in topic_arns() if name not in own_topics(OTHER)] == []


class _ListFails:
    """An SNS client whose ListTopics paginator crashes on its first page."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_paginator(self, operation: str) -> Any:
        raise Crash(f"{operation}, before it was sent")


def test_deleting_an_api_leaves_the_models_and_configs_of_an_api_named_like_it(other: Any) -> None:
    """``axon-iris-*`` also matches ``axon-iris-2-v1``: only a label (no ``-``) after the prefix is the API's."""
    platform = make_platform()
    platform.deploy(version("v1"), None)
    platform.delete_api("iris")
    sagemaker = client("sagemaker")
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [names.model_name(OTHER, "v1")]
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [names.endpoint_config_name(OTHER, "v1")]


def test_deleting_an_api_removes_every_page_of_its_leftover_configs_and_models(other: Any) -> None:
    """Versions that failed before their cleanup leave configs and models; past 100 they span pages."""
    sagemaker = client("sagemaker")
    for n in range(1, 106):
        model = names.model_name("iris", f"v{n}")
        sagemaker.create_model(
            ModelName=model, PrimaryContainer={"Image": "1.dkr.ecr.us-east-1.amazonaws.com/s:rt"}, ExecutionRoleArn=ROLE
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=names.endpoint_config_name("iris", f"v{n}"),
            ProductionVariants=[
                {
                    "VariantName": names.VARIANT_NAME,
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    make_platform().delete_api("iris")
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [names.model_name(OTHER, "v1")]
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [names.endpoint_config_name(OTHER, "v1")]
