"""Workloads the benchmark's tests share: a small two-level load and a tiny synthetic shape."""

from __future__ import annotations

import numpy as np
import pytest

from bench.autoscaler import workload as workload_module
from bench.autoscaler.run import Summary
from bench.autoscaler.workload import Workload, from_rate


@pytest.fixture(scope="module")
def small() -> Workload:
    rate = lambda t: np.where((t > 600) & (t < 1500), 6.0, 1.5)  # noqa: E731
    return from_rate("small", rate, 2400, seed=3)


def _tiny(t: np.ndarray) -> np.ndarray:
    return np.where((t >= 300) & (t < 600), 6.0, 1.0)


@pytest.fixture
def tiny_shape(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(workload_module.SYNTHETIC, "tiny", (_tiny, 900))
    return "tiny"


def summary_of(policy: str, slo: float, cost: float, actions: float = 10.0) -> Summary:
    """A three-seed summary with no spread: what the report's verdicts and targets read."""
    mean = {"slo_met_fraction": slo, "cost_replica_minutes": cost, "scale_actions": actions, "rejected": 0.0}
    return Summary(policy, 3, 1000.0, mean, dict(mean), dict(mean), oracle_cost=100.0, floor_cost=50.0)
