"""Run several policies on one workload and score them against the oracle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.autoscaler.engine import RunResult, SimConfig, simulate
from bench.autoscaler.policies import build
from bench.autoscaler.policies.oracle import Oracle, StaticPeak, horizon_of
from bench.autoscaler.workload import Workload


@dataclass(frozen=True)
class Scored:
    result: RunResult
    oracle_cost: float

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` row: the five fields the issue fixes, plus counts that explain them."""
        r = self.result
        return {
            "policy": r.policy,
            "slo_met_fraction": round(r.slo_met_fraction, 5),
            "cost_replica_minutes": round(r.cost_replica_minutes, 1),
            "cost_ratio_to_oracle": round(r.cost_replica_minutes / self.oracle_cost, 3) if self.oracle_cost else None,
            "scale_actions": r.scale_actions,
            "requests": r.requests,
            "rejected": r.rejected,
        }


def run(workload: Workload, names: list[str], cfg: SimConfig) -> list[Scored]:
    """Every named policy on ``workload``; all start from the oracle's initial fleet, the oracle always runs."""
    oracle = Oracle(workload, cfg, horizon_of(workload, cfg))
    oracle_result = simulate(workload, oracle, cfg, oracle.initial)
    results = []
    for name in names:
        if name == "oracle":
            result = oracle_result
        else:
            controller = build(name, workload, cfg)
            # A fixed fleet is sized before the first request; every scaler starts where the oracle does.
            initial = controller.replicas if isinstance(controller, StaticPeak) else oracle.initial
            result = simulate(workload, controller, cfg, initial)
        results.append(Scored(result, oracle_result.cost_replica_minutes))
    return results
