"""SageMaker on moto: a new model that cannot load fails the rollout from its log line, not the health-check timeout.

moto with axon's patches serves SageMaker from the local emulator on an in-memory fleet: holding the fleet's launch
keeps the endpoint ``Creating`` (or its update at the new fleet's launch), so the platform sees it mid-deployment
while the test writes the replica's log to CloudWatch Logs as SageMaker does; a launch failure is SageMaker's own
verdict on a container that never passed ``/ping``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from axon import names
from axon.platforms.base import DeploymentPhase, VersionRef
from axon.platforms.errors import ModelLoadFailedError
from axon.platforms.sagemaker.logs import LOG_DELIVERY_SECONDS
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.spec import load_spec_text
from axon_local.patches import moto_patches, sagemaker_fleet
from tests.functional.platforms.conftest import client

GROUP = names.log_group("iris")
MARKER_LINE = f"{names.MODEL_LOAD_FAILED_MARKER} Predictor.__init__ failed: RuntimeError: weights are corrupt (p.py:6)"
LOG = ["loading the model", "Traceback (most recent call last):", "RuntimeError: weights are corrupt", MARKER_LINE]
PING_FAILED = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
REASON = (
    "v{n} could not load its model: Predictor.__init__ failed: RuntimeError: weights are corrupt (p.py:6). "
    f"Last 4 lines of log {GROUP} AllTraffic/i-0{{n}}:"
)


@pytest.fixture
def platform(aws: None) -> Iterator[SageMakerPlatform]:
    with moto_patches():
        clock = [time.time()]
        yield SageMakerPlatform(
            client("sagemaker"),
            client("sagemaker-runtime"),
            client("cloudwatch"),
            "arn:aws:iam::123456789012:role/axon-sagemaker-execution",
            logs=client("logs"),
            clock=lambda: clock[0],
        )


def version(label: str) -> VersionRef:
    return VersionRef("iris", label, load_spec_text(None), "1.dkr.ecr.us-east-1.amazonaws.com/s:rt", f"s3://m/{label}")


def replica_log(stream: str, lines: list[str], at: float | None = None) -> None:
    """What SageMaker ships from a container's stdout and stderr."""
    logs = client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    stamp = int((time.time() if at is None else at) * 1000)
    events = [{"timestamp": stamp, "message": line} for line in lines]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def endpoint() -> Any:
    return client("sagemaker").describe_endpoint(EndpointName="axon-iris")


def live(platform: SageMakerPlatform) -> VersionRef:
    v1 = version("v1")
    platform.deploy(v1, None)
    while platform.deployment_status(v1, None).phase == DeploymentPhase.IN_PROGRESS:
        pass
    return v1


def test_a_first_version_that_cannot_load_fails_while_creating_and_is_cleaned_up(platform: SageMakerPlatform) -> None:
    v1 = version("v1")
    sagemaker_fleet().hold_launches()
    platform.deploy(v1, None)
    assert platform.deployment_status(v1, None).phase == DeploymentPhase.IN_PROGRESS  # nothing logged yet
    replica_log("AllTraffic/i-01", LOG)
    status = platform.deployment_status(v1, None)
    assert endpoint()["EndpointStatus"] == "Creating"  # SageMaker has not given up yet; the rollout has
    assert (status.phase, status.reason_code) == (DeploymentPhase.FAILED, ModelLoadFailedError.code)
    assert status.message.splitlines() == [REASON.format(n=1), *LOG]
    platform.rollback(v1, None)  # what the workflow's failure handler does
    platform.remove_version(v1)
    sagemaker_fleet().release()  # DeleteEndpoint ends once the launch it cancels returns
    deadline = time.monotonic() + 10
    while client("sagemaker").list_endpoints()["Endpoints"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client("sagemaker").list_endpoints()["Endpoints"] == []


def test_an_update_that_cannot_load_trips_the_rollback_alarm_and_fails(platform: SageMakerPlatform) -> None:
    v1 = live(platform)
    v2 = version("v2")
    sagemaker_fleet().hold_launches()
    platform.deploy(v2, v1)
    assert platform.deployment_status(v2, v1).phase == DeploymentPhase.IN_PROGRESS
    replica_log("AllTraffic/i-02", LOG)
    status = platform.deployment_status(v2, v1)
    assert (status.phase, status.reason_code) == (DeploymentPhase.FAILED, ModelLoadFailedError.code)
    assert status.message.splitlines()[0] == REASON.format(n=2)
    alarm = client("cloudwatch").describe_alarms(AlarmNames=["axon-iris-5xx"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "axon: v2 could not load its model")
    assert endpoint()["EndpointConfigName"] == names.endpoint_config_name("iris", "v1")  # v1 still serves


def test_a_marker_logged_before_the_deployment_is_not_this_versions(platform: SageMakerPlatform) -> None:
    v1 = live(platform)
    replica_log("AllTraffic/i-0old", LOG, at=time.time() - 3600)
    v2 = version("v2")
    sagemaker_fleet().hold_launches()
    platform.deploy(v2, v1)
    assert platform.deployment_status(v2, v1).phase == DeploymentPhase.IN_PROGRESS


def test_an_update_sagemaker_already_rolled_back_is_explained_by_the_log(platform: SageMakerPlatform) -> None:
    """The local emulator rolls back the moment the replica exits: the log tells why."""
    v1 = live(platform)
    sagemaker_fleet().fail_next_launch("axon-iris", PING_FAILED)
    v2 = version("v2")
    platform.deploy(v2, v1)
    while endpoint()["EndpointStatus"] == "Updating":
        pass
    replica_log("AllTraffic/i-02", LOG)
    status = platform.deployment_status(v2, v1)
    assert (status.phase, status.reason_code) == (DeploymentPhase.FAILED, ModelLoadFailedError.code)


def test_a_failed_ping_waits_briefly_for_the_logs_then_stands_as_sagemakers_verdict(
    platform: SageMakerPlatform,
) -> None:
    sagemaker_fleet().fail_next_launch("axon-iris", PING_FAILED)
    v1 = version("v1")
    platform.deploy(v1, None)
    while endpoint()["EndpointStatus"] == "Creating":
        pass
    waiting = platform.deployment_status(v1, None)
    assert (waiting.phase, waiting.message) == (
        DeploymentPhase.IN_PROGRESS,
        f"{PING_FAILED} (reading the endpoint's logs for why)",
    )
    platform.clock = lambda: time.time() + LOG_DELIVERY_SECONDS
    failed = platform.deployment_status(v1, None)
    assert (failed.phase, failed.message, failed.reason_code) == (DeploymentPhase.FAILED, PING_FAILED, "")


def test_without_a_logs_client_sagemakers_verdict_is_all_there_is(platform: SageMakerPlatform) -> None:
    platform.logs = None
    v1 = version("v1")
    sagemaker_fleet().hold_launches()
    platform.deploy(v1, None)
    replica_log("AllTraffic/i-01", LOG)
    assert platform.deployment_status(v1, None).phase == DeploymentPhase.IN_PROGRESS
