"""How one policy's result compares with a peer's: by dominance on (SLO met, cost), never by one axis alone.

A policy is ``better`` than a peer when it meets the SLO for more requests at no more cost, or costs less at no
worse SLO; ``worse`` when the peer is better in that sense; ``tie`` when both differ by no more than the
tolerances; otherwise (more SLO for more cost, or less for less) a ``trade-off``, which is no win.

Tolerances, so that noise does not decide: SLO fractions within :data:`SLO_TOLERANCE` (0.2 percentage point of
requests, the issue's "the same SLO (+/-0.2 pt)") and costs within :data:`COST_TOLERANCE` (1 % of the larger) count
as equal.

Issue 12's targets for axon on one workload (:func:`targets`) depend on its regime (:func:`regime`): smooth or bursty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from bench.autoscaler.bound import detection_delay
from bench.autoscaler.engine import SimConfig
from bench.autoscaler.workload import Workload

if TYPE_CHECKING:
    from bench.autoscaler.run import Summary

Verdict = Literal["better", "worse", "trade-off", "tie"]
Regime = Literal["smooth", "bursty"]

SLO_TOLERANCE = 0.002  # absolute, on the fraction of requests that met the SLO
COST_TOLERANCE = 0.01  # relative to the larger of the two costs


def _sign(better: bool, worse: bool) -> int:
    return 1 if better else -1 if worse else 0


def compare(
    slo: float,
    cost: float,
    peer_slo: float,
    peer_cost: float,
    *,
    slo_tolerance: float = SLO_TOLERANCE,
    cost_tolerance: float = COST_TOLERANCE,
) -> Verdict:
    """The verdict on (``slo``, ``cost``) against (``peer_slo``, ``peer_cost``): higher SLO and lower cost are better."""
    on_slo = _sign(slo > peer_slo + slo_tolerance, slo < peer_slo - slo_tolerance)
    margin = cost_tolerance * max(cost, peer_cost)
    on_cost = _sign(cost < peer_cost - margin, cost > peer_cost + margin)
    if on_slo == on_cost == 0:
        return "tie"
    if on_slo >= 0 and on_cost >= 0:
        return "better"
    if on_slo <= 0 and on_cost <= 0:
        return "worse"
    return "trade-off"


# Regimes. A reactive scaler answers a rise only after detection + provisioning (280 s with the defaults): load is
# bursty when, within that reaction time, the per-minute arrivals rise by more than BURSTY_RISE of the workload's
# busiest minute. Measured over every workload of the bench, smooth ones rise at most 0.32 of their peak (the Azure
# conversation trace; daily, ramps, the diurnal cycles 0.1-0.3, Poisson noise included) and bursty ones at least 0.77
# (step, spike, on-off, flash crowd, recurring bursts, the noisy plateau, the Azure code trace): 0.5 splits them.
BURSTY_RISE = 0.5


def reaction_minutes(cfg: SimConfig) -> int:
    """Detection + provisioning, in whole minutes (5 with the defaults: 40 + 240 s)."""
    return math.ceil((detection_delay(cfg) + cfg.provisioning_seconds) / 60)


def burstiness(workload: Workload, minutes: int) -> float:
    """The largest rise of the per-minute arrivals within ``minutes`` minutes, over the busiest minute (0 to 1)."""
    counts = np.bincount((workload.arrival // 60).astype(np.int64)).astype(np.float64)
    if len(counts) < 2 or counts.max() == 0:
        return 0.0
    ahead = np.full(len(counts), -np.inf)
    for k in range(1, minutes + 1):
        ahead[:-k] = np.maximum(ahead[:-k], counts[k:])
    return float(max(0.0, (ahead - counts).max()) / counts.max())


def regime(workload: Workload, cfg: SimConfig) -> Regime:
    return "bursty" if burstiness(workload, reaction_minutes(cfg)) > BURSTY_RISE else "smooth"


# Issue 12's targets.
BASELINES = ("cortex", "aws-target-tracking", "aws-target-tracking-hr", "kpa")
COST_TARGET: dict[Regime, float] = {"smooth": 1.3, "bursty": 1.6}  # x the oracle's cost
SMOOTH_SLO = 0.99
BOUND_GAP = 0.03  # bursty: within 3 points of the delayed oracle
WARM_SLO = 0.95  # with warm capacity, on flash crowds and recurring bursts
WARM_SHAPES = ("flash-crowd", "recurring-bursts")


@dataclass(frozen=True)
class Target:
    label: str
    met: bool | None  # None: the row it needs was not run
    detail: str = ""

    def __str__(self) -> str:
        mark = "n/a" if self.met is None else "yes" if self.met else "no"
        return f"{self.label}: {mark}" + (f" ({self.detail})" if self.detail else "")


def targets(rows: Mapping[str, Summary], kind: Regime, warm: bool = False) -> list[Target]:
    """axon's targets on one workload, on the means over the seeds. "At least" allows :data:`SLO_TOLERANCE`."""
    axon = rows["axon"]
    below = [n for n in BASELINES if n in rows and axon.slo < rows[n].slo - SLO_TOLERANCE]
    found = [
        Target(
            "SLO >= every baseline",
            not below,
            ", ".join(f"{n} {100 * rows[n].slo:.2f}% vs {100 * axon.slo:.2f}%" for n in below),
        )
    ]
    ratio = axon.cost_ratio or 0.0
    found.append(Target(f"cost <= {COST_TARGET[kind]:g}x oracle", ratio <= COST_TARGET[kind], f"{ratio:.2f}x"))
    if kind == "smooth":
        found.append(Target(f"SLO >= {100 * SMOOTH_SLO:g}%", axon.slo >= SMOOTH_SLO, f"{100 * axon.slo:.2f}%"))
    else:
        bound = rows.get("delayed-oracle")
        gap = None if bound is None else bound.slo - axon.slo
        met = None if gap is None else gap <= BOUND_GAP
        detail = "" if gap is None else f"{100 * gap:.2f} pt below" if gap > 0 else f"{-100 * gap:.2f} pt above"
        found.append(Target(f"within {100 * BOUND_GAP:g} pt of delayed-oracle", met, detail))
    if warm:
        with_pool = rows.get("axon+warm")
        met = None if with_pool is None else with_pool.slo >= WARM_SLO
        detail = "" if with_pool is None else f"{100 * with_pool.slo:.2f}%"
        found.append(Target(f"axon+warm SLO >= {100 * WARM_SLO:g}%", met, detail))
    return found
