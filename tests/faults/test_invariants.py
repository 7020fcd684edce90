"""The invariant checker fails when it should: healthy end states pass, each broken one names its invariant."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bench.faults.invariants import EndState, VersionView, check, classify
from bench.faults.model import CallSite, Fault, Outcome
from bench.faults.recorder import ROLLOUT, Call

V1 = VersionView(1, "v1", "s3-v1", "superseded")
V2 = VersionView(2, "v2", "s3-v2", "live")
EXECUTIONS = {"iris-1": "SUCCEEDED", "iris-2": "SUCCEEDED"}
# v2 replaced v1 on SageMaker: v1's model and config are kept for rollback.
HEALTHY = EndState(
    platform="sagemaker",
    api="iris",
    uploads=("s3-v1", "s3-v2"),
    previous_seq=1,
    versions=(V1, V2),
    live_seq=2,
    lease_owner=None,
    executions=EXECUTIONS,
    serving=(("v2", 100),),
    platform_status="InService",
    resources={"models": frozenset({"v1", "v2"}), "endpoint": frozenset({"api"}), "alarms": frozenset({"api"})},
)
# v2 failed: v1 still serves, nothing of v2 is left.
KEPT = dataclasses.replace(
    HEALTHY,
    versions=(dataclasses.replace(V1, status="live"), dataclasses.replace(V2, status="failed")),
    live_seq=1,
    serving=(("v1", 100),),
    resources={"models": frozenset({"v1"}), "endpoint": frozenset({"api"})},
)


def _call(service: str, operation: str, params: dict[str, Any]) -> Call:
    return Call(CallSite("axon-handle-failure", service, operation, 1), ROLLOUT, params)


def test_healthy_end_states_pass() -> None:
    assert check(HEALTHY, [], None) == []
    assert check(KEPT, [], Fault.PERMANENT) == []
    assert classify(KEPT) is Outcome.OLD_KEPT
    ecs_first = EndState("ecs", "iris", ("s3-v1",), None, (VersionView(1, "v1", "s3-v1", "failed"),), None, None,
                         {"iris-1": "FAILED"}, (), "", {"services": frozenset()})  # fmt: skip
    assert check(ecs_first, [_call("ecs", "DeleteService", {"service": "axon-iris-v1"})], Fault.PERMANENT) == []


@pytest.mark.parametrize(
    ("state", "calls", "fault", "invariant"),
    [
        (HEALTHY, [_call("sagemaker", "DeleteEndpointConfig", {"EndpointConfigName": "axon-iris-v2"})], None, "I1"),
        (KEPT, [_call("sagemaker", "DeleteModel", {"ModelName": "axon-iris-v1"})], Fault.PERMANENT, "I1"),
        (KEPT, [_call("sagemaker", "DeleteEndpoint", {"EndpointName": "axon-iris"})], Fault.PERMANENT, "I1"),
        (KEPT, [_call("ecs", "UpdateService", {"service": "axon-iris-v1", "desiredCount": 0})], Fault.PERMANENT, "I1"),
        (dataclasses.replace(KEPT, live_seq=None, serving=()), [], Fault.PERMANENT, "I1"),
        (dataclasses.replace(HEALTHY, versions=(V1,)), [], Fault.CRASH, "I2"),
        (dataclasses.replace(HEALTHY, versions=(V1, dataclasses.replace(V2, status="shifting"))), [], None, "I2"),
        (dataclasses.replace(HEALTHY, executions={**EXECUTIONS, "iris-2": "RUNNING"}), [], None, "I2"),
        (dataclasses.replace(HEALTHY, lease_owner="iris-2"), [], None, "I3"),
        (dataclasses.replace(HEALTHY, lease_owner="iris-3"), [], None, "I3"),
        (dataclasses.replace(HEALTHY, serving=(("v1", 100),)), [], None, "I4"),
        (dataclasses.replace(HEALTHY, serving=(("v1", 90), ("v2", 10))), [], None, "I4"),
        (dataclasses.replace(HEALTHY, platform_status="Updating"), [], None, "I4"),
        (dataclasses.replace(KEPT, versions=(dataclasses.replace(V1, status="live"), V2)), [], Fault.PERMANENT, "I4"),
        (dataclasses.replace(KEPT, resources={"models": frozenset({"v1", "v2"})}), [], Fault.PERMANENT, "I5"),
        (dataclasses.replace(HEALTHY, platform="ecs", resources={"services": frozenset({"v1", "v2"})}), [], None,
         "I5"),
        (dataclasses.replace(KEPT, live_seq=None, previous_seq=None, serving=(), versions=(V2,), uploads=("s3-v2",),
                             resources={"alarms": frozenset({"api"})}), [], Fault.PERMANENT, "I5"),
        (KEPT, [], Fault.RETRYABLE, "outcome"),
        (KEPT, [], Fault.TWICE, "outcome"),
    ],
)  # fmt: skip
def test_a_broken_end_state_is_a_violation(
    state: EndState, calls: list[Call], fault: Fault | None, invariant: str
) -> None:
    found = check(state, calls, fault)
    assert invariant in {v.invariant for v in found}, found


def test_a_failed_delete_is_no_violation() -> None:
    failed = dataclasses.replace(_call("sagemaker", "DeleteModel", {"ModelName": "axon-iris-v1"}), error="AccessDenied")
    assert check(KEPT, [failed], Fault.PERMANENT) == []
