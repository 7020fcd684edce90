"""Blue/green rollouts on real processes: zero failed requests under load, rollbacks on ping and on alarms."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.local_sagemaker.conftest import Stack, _client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class Load:
    """Requests in a loop from several threads, counting answers by version and every failure."""

    def __init__(self, stack: Stack, threads: int = 3) -> None:
        self.versions: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(stack,)) for _ in range(threads)]

    def _run(self, stack: Stack) -> None:
        runtime = _client("sagemaker-runtime", stack.door.url)
        own = Stack(stack.door, stack.sm, runtime, stack.s3, stack.cloudwatch)
        while not self._stop.is_set():
            try:
                answer, _ = own.predict("axon-demo", {"n": 1})
                with self._lock:
                    self.versions[answer["version"]] += 1
            except Exception as error:
                with self._lock:
                    self.failures.append(repr(error))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _live(stack: Stack, label: str, count: int = 1) -> None:
    stack.sm.create_endpoint(
        EndpointName="axon-demo", EndpointConfigName=stack.version(label, {"delay": 0.01}, count=count)
    )
    assert stack.wait_status("axon-demo")["EndpointStatus"] == "InService"


def test_linear_rollout_under_load_loses_no_request(stack: Stack) -> None:
    _live(stack, "v1", count=2)
    config = stack.version("v2", {"delay": 0.01}, count=2)
    statuses: list[dict[str, Any]] = []
    with Load(stack) as load:
        time.sleep(0.3)
        stack.sm.update_endpoint(
            EndpointName="axon-demo",
            EndpointConfigName=config,
            DeploymentConfig={
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "WaitIntervalInSeconds": 10,
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                    }
                }
            },
        )
        while (body := stack.sm.describe_endpoint(EndpointName="axon-demo"))["EndpointStatus"] == "Updating":
            statuses.append(body)
            time.sleep(0.05)
        time.sleep(0.3)
    assert load.failures == []
    assert load.versions["v1"] > 0 and load.versions["v2"] > 0
    messages = {
        b["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]["StatusMessage"]
        for b in statuses
        if "PendingDeploymentSummary" in b
    }
    assert any("50% of traffic" in m for m in messages) and any("100% of traffic" in m for m in messages)
    body = stack.sm.describe_endpoint(EndpointName="axon-demo")
    assert (body["EndpointStatus"], body["EndpointConfigName"]) == ("InService", "c-v2")
    assert {stack.predict("axon-demo", {})[0]["version"] for _ in range(5)} == {"v2"}


def test_scale_in_under_load_loses_no_request(stack: Stack) -> None:
    _live(stack, "v1", count=3)
    with Load(stack) as load:
        time.sleep(0.3)
        stack.sm.update_endpoint_weights_and_capacities(
            EndpointName="axon-demo",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 1}],
        )
        assert stack.wait_status("axon-demo")["ProductionVariants"][0]["CurrentInstanceCount"] == 1
        time.sleep(0.3)
    assert load.failures == [] and load.versions["v1"] > 0


def test_a_new_version_failing_ping_is_rolled_back(stack: Stack) -> None:
    _live(stack, "v1")
    stack.sm.update_endpoint(EndpointName="axon-demo", EndpointConfigName=stack.version("v2", {"ping": "exit"}))
    body = stack.wait_status("axon-demo")
    assert (body["EndpointStatus"], body["EndpointConfigName"]) == ("InService", "c-v1")
    assert body["FailureReason"].startswith(
        "The primary container for production variant AllTraffic did not pass the ping health check."
    )
    assert "exited with code 3" in body["FailureReason"]
    assert stack.predict("axon-demo", {})[0]["version"] == "v1"


def test_an_alarm_in_alarm_state_rolls_the_canary_back(stack: Stack) -> None:
    _live(stack, "v1")
    stack.cloudwatch.put_metric_alarm(
        AlarmName="axon-demo-5xx",
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    config = stack.version("v2", count=2)
    stack.sm.update_endpoint(
        EndpointName="axon-demo",
        EndpointConfigName=config,
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 600,
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                }
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "axon-demo-5xx"}]},
        },
    )
    deadline = time.monotonic() + 20
    while "Baking" not in str(stack.sm.describe_endpoint(EndpointName="axon-demo").get("PendingDeploymentSummary")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stack.cloudwatch.set_alarm_state(AlarmName="axon-demo-5xx", StateValue="ALARM", StateReason="test")
    body = stack.wait_status("axon-demo")
    assert (body["EndpointStatus"], body["EndpointConfigName"]) == ("InService", "c-v1")
    assert "axon-demo-5xx" in body["FailureReason"]
    assert {stack.predict("axon-demo", {})[0]["version"] for _ in range(5)} == {"v1"}


def test_a_replica_crashing_during_the_bake_rolls_back(stack: Stack) -> None:
    _live(stack, "v1")
    stack.sm.update_endpoint(
        EndpointName="axon-demo",
        EndpointConfigName=stack.version("v2", count=2),
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}
            }
        },
    )
    deadline = time.monotonic() + 20
    while "Baking" not in str(stack.sm.describe_endpoint(EndpointName="axon-demo").get("PendingDeploymentSummary")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(ClientError) as error:  # the crash is the model's answer, not retried elsewhere
        stack.predict("axon-demo", {"crash": True})
    assert error.value.response["Error"]["Code"] == "ModelError"
    body = stack.wait_status("axon-demo")
    assert (body["EndpointStatus"], body["EndpointConfigName"]) == ("InService", "c-v1")
    assert "exited with code 1" in body["FailureReason"]
    assert stack.predict("axon-demo", {})[0]["version"] == "v1"
