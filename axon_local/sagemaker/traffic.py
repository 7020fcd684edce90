"""Blue/green traffic steps of a SageMaker ``DeploymentConfig``, as a pure function of the config and fleet size.

SageMaker provisions the whole green fleet first, then moves traffic to it in steps, baking
``WaitIntervalInSeconds`` after each step with the rollback alarms watched:

* no ``DeploymentConfig``: all at once, no bake (SageMaker's default blue/green);
* ``ALL_AT_ONCE``: one step to 100 %, then the bake;
* ``CANARY``: the canary share, a bake, then 100 % and a final bake;
* ``LINEAR``: ``step``, ``2 * step``, ... up to 100 %, a bake after each.

Example: LINEAR with ``LinearStepSize`` 25 % and a 60 s wait gives steps 0.25, 0.5, 0.75, 1.0, each baked 60 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from axon_local.sagemaker.errors import validation_error


@dataclass(frozen=True)
class TrafficStep:
    green_fraction: float  # share of the endpoint's traffic on the new fleet after this step, 0-1
    bake_seconds: float  # alarms are watched for this long before the next step


@dataclass(frozen=True)
class RolloutPlan:
    steps: tuple[TrafficStep, ...]
    termination_wait_seconds: float  # extra wait before the old fleet is stopped
    max_execution_seconds: float | None  # the whole rollout is rolled back when it runs longer


def _fraction(size: Mapping[str, Any], green_instances: int) -> float:
    """A ``CapacitySize`` as a traffic share (the router splits exactly; AWS rounds to whole instances)."""
    value = float(size["Value"])
    if size["Type"] == "INSTANCE_COUNT":
        return value / green_instances
    return value / 100.0


def plan_rollout(deployment_config: Mapping[str, Any] | None, green_instances: int) -> RolloutPlan:
    """Steps for an UpdateEndpoint; raise a ``ValidationException`` for sizes AWS refuses."""
    if not deployment_config:
        return RolloutPlan((TrafficStep(1.0, 0.0),), 0.0, None)
    if "RollingUpdatePolicy" in deployment_config:
        if "BlueGreenUpdatePolicy" in deployment_config:
            raise validation_error("Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy may be specified.")
        raise validation_error("RollingUpdatePolicy is not supported by the local SageMaker emulator.")
    policy = deployment_config.get("BlueGreenUpdatePolicy")
    if policy is None:
        return RolloutPlan((TrafficStep(1.0, 0.0),), 0.0, None)
    routing = policy["TrafficRoutingConfiguration"]
    wait = float(routing["WaitIntervalInSeconds"])
    kind = routing["Type"]
    if kind == "ALL_AT_ONCE":
        steps = [TrafficStep(1.0, wait)]
    elif kind == "CANARY":
        if "CanarySize" not in routing:
            raise validation_error("CanarySize must be specified for the CANARY traffic routing type.")
        canary = _fraction(routing["CanarySize"], green_instances)
        if canary > 0.5:
            raise validation_error("CanarySize must be less than or equal to 50% of the variant's instance count.")
        steps = [TrafficStep(canary, wait), TrafficStep(1.0, wait)]
    else:  # LINEAR: the service model's enum admits nothing else
        if "LinearStepSize" not in routing:
            raise validation_error("LinearStepSize must be specified for the LINEAR traffic routing type.")
        step = _fraction(routing["LinearStepSize"], green_instances)
        if not 0.1 <= step <= 0.5:
            raise validation_error("LinearStepSize must be between 10% and 50% of the variant's instance count.")
        count = math.ceil(round(1.0 / step, 9))
        steps = [TrafficStep(min(1.0, step * (i + 1)), wait) for i in range(count)]
    termination = float(policy.get("TerminationWaitInSeconds", 0))
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    total_wait = sum(s.bake_seconds for s in steps) + termination
    if timeout is not None and float(timeout) <= total_wait:
        raise validation_error(
            f"MaximumExecutionTimeoutInSeconds ({timeout}) must be greater than the sum of the wait intervals "
            f"and the termination wait ({total_wait:g})."
        )
    return RolloutPlan(tuple(steps), termination, None if timeout is None else float(timeout))
