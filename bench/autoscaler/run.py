"""Run several policies on one workload (or on one synthetic shape with several seeds) and score them."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.autoscaler.bound import DelayedOracle
from bench.autoscaler.engine import Controller, RunResult, SimConfig, simulate
from bench.autoscaler.policies import POLICIES, build
from bench.autoscaler.policies.oracle import Oracle, StaticPeak, cost_floor, horizon_of, needed_replicas
from bench.autoscaler.workload import Workload, load_trace, synthetic


@dataclass(frozen=True)
class Scored:
    result: RunResult
    oracle_cost: float
    floor_cost: float  # no policy that meets the SLO for every request costs less (policies.oracle.cost_floor)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` row: the five fields the issue fixes, plus counts that explain them."""
        r = self.result
        return {
            "policy": r.policy,
            "slo_met_fraction": round(r.slo_met_fraction, 5),
            "cost_replica_minutes": round(r.cost_replica_minutes, 1),
            "cost_ratio_to_oracle": round(r.cost_replica_minutes / self.oracle_cost, 3) if self.oracle_cost else None,
            "cost_ratio_to_floor": round(r.cost_replica_minutes / self.floor_cost, 3) if self.floor_cost else None,
            "scale_actions": r.scale_actions,
            "requests": r.requests,
            "rejected": r.rejected,
        }


# Rows beyond the fixed list, run only when asked (``--policy NAME``) or by ``--results``: the reactive bound,
# and axon on a platform with a warm pool (``--warm-pool N``, else :func:`warm_pool_for`).
WARM = "axon+warm"
EXTRA = ("delayed-oracle", WARM)
CHOICES = (*POLICIES, *EXTRA)


def warm_pool_for(workload: Workload, cfg: SimConfig) -> int:
    """The warm pool ``axon+warm`` gets unless one is configured: the peak need (the most replicas the zero-wait
    oracle ever needs), what an operator sizes a pool to from the expected peak. At 2 % of a running instance a
    second, a pool of N costs 0.02 N running replicas all the time."""
    return int(needed_replicas(workload, cfg, horizon_of(workload, cfg)).max())


def controller_for(name: str, workload: Workload, cfg: SimConfig) -> Controller:
    """:func:`bench.autoscaler.policies.build`, plus the bench's own extra rows (:data:`EXTRA`)."""
    if name == "delayed-oracle":
        return DelayedOracle(workload, cfg, horizon_of(workload, cfg))
    if name == WARM:
        return build("axon", workload, cfg)
    return build(name, workload, cfg)


def run(workload: Workload, names: list[str], cfg: SimConfig) -> list[Scored]:
    """Every named policy on ``workload``; all start from the oracle's initial fleet, the oracle always runs.

    ``axon+warm`` runs on ``cfg`` with a warm pool (``cfg``'s if it has one, else :func:`warm_pool_for`); its cost,
    pool included, is compared with the oracle's on ``cfg``."""
    oracle = Oracle(workload, cfg, horizon_of(workload, cfg))
    oracle_result = simulate(workload, oracle, cfg, oracle.initial)
    floor = cost_floor(workload, cfg)
    results = []
    for name in names:
        if name == "oracle":
            result = oracle_result
        else:
            on = cfg
            if name == WARM and not cfg.warm_pool:
                on = replace(cfg, warm_pool=warm_pool_for(workload, cfg))
            controller = controller_for(name, workload, on)
            # A fixed fleet is sized before the first request; every scaler starts where the oracle does.
            initial = controller.replicas if isinstance(controller, StaticPeak) else oracle.initial
            result = simulate(workload, controller, on, initial)
            result.policy = name
        results.append(Scored(result, oracle_result.cost_replica_minutes, floor))
    return results


DEFAULT_SEEDS = 5  # seeds per synthetic shape (issue 12: at least 5, with their spread)
METRICS = ("slo_met_fraction", "cost_replica_minutes", "scale_actions", "rejected")


def _metric(result: RunResult, name: str) -> float:
    return float(getattr(result, name))


def _number(value: float, digits: int) -> float | int:
    return int(value) if float(value).is_integer() and digits <= 1 else round(value, digits)


@dataclass(frozen=True)
class Summary:
    """One policy over several seeds of the same workload: per metric the mean, the lowest and the highest."""

    policy: str
    seeds: int
    requests: float  # mean
    mean: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    oracle_cost: float  # the oracle's mean cost over the same seeds
    floor_cost: float  # the mean cost floor over the same seeds

    @property
    def slo(self) -> float:
        return self.mean["slo_met_fraction"]

    @property
    def cost(self) -> float:
        return self.mean["cost_replica_minutes"]

    @property
    def cost_ratio(self) -> float | None:
        return self.cost / self.oracle_cost if self.oracle_cost else None

    @property
    def floor_ratio(self) -> float | None:
        return self.cost / self.floor_cost if self.floor_cost else None

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` row: the issue's five fields (means over the seeds), counts, and with several seeds the
        spread of each metric as ``[lowest, highest]``."""
        ratio, floor = self.cost_ratio, self.floor_ratio
        row: dict[str, Any] = {
            "policy": self.policy,
            "slo_met_fraction": round(self.slo, 5),
            "cost_replica_minutes": round(self.cost, 1),
            "cost_ratio_to_oracle": round(ratio, 3) if ratio is not None else None,
            "cost_ratio_to_floor": round(floor, 3) if floor is not None else None,
            "scale_actions": _number(self.mean["scale_actions"], 1),
            "requests": _number(self.requests, 1),
            "rejected": _number(self.mean["rejected"], 1),
            "seeds": self.seeds,
        }
        if self.seeds > 1:
            digits = {"slo_met_fraction": 5, "cost_replica_minutes": 1, "scale_actions": 1, "rejected": 1}
            row["spread"] = {m: [_number(self.low[m], digits[m]), _number(self.high[m], digits[m])] for m in METRICS}
        return row


def summarize(per_seed: Sequence[Sequence[Scored]]) -> list[Summary]:
    """Per policy (in run order), the mean and range of each metric over the seeds' runs."""
    names = [s.result.policy for s in per_seed[0]]
    by_policy = {name: [next(s for s in rows if s.result.policy == name) for rows in per_seed] for name in names}
    oracle_cost = sum(rows[0].oracle_cost for rows in per_seed) / len(per_seed)
    floor_cost = sum(rows[0].floor_cost for rows in per_seed) / len(per_seed)
    summaries = []
    for name, runs in by_policy.items():
        values = {m: [_metric(s.result, m) for s in runs] for m in METRICS}
        summaries.append(
            Summary(
                policy=name,
                seeds=len(runs),
                requests=sum(s.result.requests for s in runs) / len(runs),
                mean={m: sum(v) / len(v) for m, v in values.items()},
                low={m: min(v) for m, v in values.items()},
                high={m: max(v) for m, v in values.items()},
                oracle_cost=oracle_cost,
                floor_cost=floor_cost,
            )
        )
    return summaries


def run_seeds(
    make: Callable[[int], Workload], seeds: Sequence[int], names: list[str], cfg: SimConfig
) -> list[list[Scored]]:
    """:func:`run` on ``make(seed)`` for each seed, in order; each run is deterministic for its seed."""
    return [run(make(seed), names, cfg) for seed in seeds]


@dataclass(frozen=True)
class Source:
    """A workload by name (picklable, for worker processes): a trace CSV, replayed once, or a synthetic shape, drawn
    once per seed."""

    trace: Path | None = None
    shape: str | None = None
    stretch: float = 1.0

    def make(self, seed: int) -> Workload:
        if self.trace is not None:
            return load_trace(self.trace, self.stretch)
        assert self.shape is not None
        return synthetic(self.shape, self.stretch, seed)

    def seeds(self, count: int) -> range:
        return range(1, 2) if self.trace is not None else range(1, count + 1)


Job = tuple[Source, int, tuple[str, ...], SimConfig]  # what to run: the workload, its seed, the policies, the config


def run_job(job: Job) -> list[Scored]:
    source, seed, names, cfg = job
    return run(source.make(seed), list(names), cfg)


def run_jobs(jobs: Sequence[Job], processes: int = 1) -> list[list[Scored]]:
    """:func:`run` for each job, in order; with ``processes`` > 1 in that many forked worker processes. Every job is
    deterministic, so the results do not depend on how many processes ran them or in what order they finished."""
    if processes <= 1 or len(jobs) <= 1:
        return [run_job(job) for job in jobs]
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(run_job, jobs))
