"""How one policy's result compares with a peer's: by dominance on (SLO met, cost), never by one axis alone.

A policy is ``better`` than a peer when it meets the SLO for more requests at no more cost, or costs less at no
worse SLO; ``worse`` when the peer is better in that sense; ``tie`` when both differ by no more than the
tolerances; otherwise (more SLO for more cost, or less for less) a ``trade-off``, which is no win.

Tolerances, so that noise does not decide: SLO fractions within :data:`SLO_TOLERANCE` (0.1 percentage point of
requests) and costs within :data:`COST_TOLERANCE` (1 % of the larger) count as equal.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["better", "worse", "trade-off", "tie"]

SLO_TOLERANCE = 0.001  # absolute, on the fraction of requests that met the SLO
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
