"""Every policy the benchmark compares, built by name for one workload and configuration."""

from __future__ import annotations

from axon.autoscaler.policy import Policy
from bench.autoscaler.engine import Controller, SimConfig
from bench.autoscaler.policies.aws import AwsTargetTracking, AwsTargetTrackingHighRes
from bench.autoscaler.policies.axon import Axon
from bench.autoscaler.policies.cortex import Cortex
from bench.autoscaler.policies.kpa import Kpa
from bench.autoscaler.policies.oracle import Oracle, StaticPeak, horizon_of
from bench.autoscaler.workload import Workload

POLICIES = ("axon", "cortex", "aws-target-tracking", "aws-target-tracking-hr", "kpa", "static-peak", "oracle")


CALIBRATION_SECONDS = 600.0  # the start of a trace an operator may use to size AWS standard target tracking


def calibration_service_time(workload: Workload) -> float:
    """Mean service time of the requests that arrive in the first :data:`CALIBRATION_SECONDS` (1 s with none)."""
    early = workload.service[workload.arrival < CALIBRATION_SECONDS]
    return float(early.mean()) if len(early) else 1.0


def build(name: str, workload: Workload, cfg: SimConfig) -> Controller:
    """The controller called ``name``, configured with the same target and bounds as every other policy."""
    target = cfg.target_in_flight
    if name == "axon":
        policy = Policy(
            min_replicas=cfg.min_replicas,
            max_replicas=cfg.max_replicas,
            target_in_flight=target,
            max_concurrency=cfg.max_concurrency,  # the saturation point the algorithm judges overload by
        )
        return Axon(policy)
    if name == "cortex":
        return Cortex(target, cfg.min_replicas, cfg.max_replicas)
    if name == "aws-target-tracking":
        # AWS's sizing rule: invocations/min/instance at the target = slots x utilization / mean service x 60. The
        # operator sizes it from what they can know before going live: the requests of the first CALIBRATION_SECONDS
        # (a load test's worth), not the whole trace (which would be foresight).
        return AwsTargetTracking(target / calibration_service_time(workload) * 60)
    if name == "aws-target-tracking-hr":
        return AwsTargetTrackingHighRes(target)
    if name == "kpa":
        return Kpa(target)
    if name == "static-peak":
        return StaticPeak(workload, cfg, horizon_of(workload, cfg))
    if name == "oracle":
        return Oracle(workload, cfg, horizon_of(workload, cfg))
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")


__all__ = ["POLICIES", "build"]
