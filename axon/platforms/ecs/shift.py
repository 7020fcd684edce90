"""Walking green's weight along ``rollout.traffic_steps`` one bake at a time: the decision, with no AWS calls.

The bake clock lives in AWS, as the ``axon:shift`` tag on green's target group (``<percent>@<epoch seconds>``: the
weight last set, and when). Each CheckDeployment poll asks :func:`next_move` what to do with the weight green
has now; :class:`axon.platforms.ecs.EcsPlatform` carries the move out (rule weights, then the tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from axon.platforms.base import DeploymentPhase, DeploymentStatus
from axon.platforms.ecs import specs
from axon.spec import RolloutSpec


class MoveKind(StrEnum):
    RESTART_BAKE = "restart_bake"  # the weights moved but the tag did not follow (an interrupted poll): re-tag
    BAKE = "bake"  # keep baking at the current weight
    SHIFT = "shift"  # move the weights to the next step and start its bake
    GO_LIVE = "go_live"  # the last step baked: all traffic to green


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    percent: int  # green's weight once the move is made
    message: str = ""


def next_move(rollout: RolloutSpec, percent: int, shift_tag: str | None, now: float, label: str) -> Move:
    """What one poll does with green at ``percent``, given its ``axon:shift`` tag value and the time ``now``."""
    if percent > 0:
        shift = specs.parse_shift_tag(shift_tag)
        if shift is None or shift[0] != percent:
            # The weights moved but the tag did not follow (an interrupted poll): restart this step's bake.
            return Move(MoveKind.RESTART_BAKE, percent, f"baking {percent}% for {rollout.bake_seconds} s")
        waited = now - shift[1]
        if waited < rollout.bake_seconds:
            remaining = int(rollout.bake_seconds - waited)
            return Move(MoveKind.BAKE, percent, f"baking {percent}% ({remaining} s left)")
    target = specs.next_percent(rollout.traffic_steps, percent)
    if target is None:
        return Move(MoveKind.GO_LIVE, 100)
    return Move(MoveKind.SHIFT, target, f"{target}% of traffic on {label}")


def shifting(percent: int, message: str) -> DeploymentStatus:
    """A rollout whose green is reachable and holds ``percent`` of the traffic."""
    return DeploymentStatus(DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=message)
