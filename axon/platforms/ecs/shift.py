"""The rollout's traffic walk on ECS, pure: which step green's weight takes next and when its bake is over.

The progress lives in AWS (the rule's weights and the ``axon:shift`` tag on green's target group, written by
:mod:`axon.platforms.ecs.platform`), so any poll can pick it up; these functions read it and decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from axon.spec import RolloutSpec


def shift_tag(percent: int, at: float) -> str:
    return f"{percent}@{int(at)}"


def parse_shift_tag(value: str | None) -> tuple[int, int] | None:
    """``"25@1700000000"`` -> ``(25, 1700000000)``; ``None`` for a missing or foreign value."""
    percent, sep, at = (value or "").partition("@")
    if not sep or not percent.isdigit() or not at.isdigit():
        return None
    return int(percent), int(at)


def next_percent(steps: Sequence[int], current: int) -> int | None:
    """The step after ``current`` percent on the new version; ``None`` once it holds the last (100)."""
    later = [step for step in steps if step > current]
    return later[0] if later else None


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


def next_move(rollout: RolloutSpec, percent: int, tag: str | None, now: float, label: str) -> Move:
    """What one poll does with green at ``percent``, given its ``axon:shift`` tag value and the time ``now``."""
    if percent > 0:
        shift = parse_shift_tag(tag)
        if shift is None or shift[0] != percent:
            # The weights moved but the tag did not follow (an interrupted poll): restart this step's bake.
            return Move(MoveKind.RESTART_BAKE, percent, f"baking {percent}% for {rollout.bake_seconds} s")
        waited = now - shift[1]
        if waited < rollout.bake_seconds:
            remaining = int(rollout.bake_seconds - waited)
            return Move(MoveKind.BAKE, percent, f"baking {percent}% ({remaining} s left)")
    target = next_percent(rollout.traffic_steps, percent)
    if target is None:
        return Move(MoveKind.GO_LIVE, 100)
    return Move(MoveKind.SHIFT, target, f"{target}% of traffic on {label}")
