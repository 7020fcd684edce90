"""How an ECS async rollout maps each strategy onto task counts (``axon.platforms.ecs.async_rollout``)."""

from __future__ import annotations

import pytest

from axon.platforms.base import VersionRef
from axon.platforms.ecs.async_rollout import full_count, step_count
from axon.spec import load_spec_text

ECS = "kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge}\n"


def version(extra: str = "") -> VersionRef:
    return VersionRef("echo", "v2", load_spec_text(ECS + extra), "image", "s3://b/k")


@pytest.mark.parametrize(
    ("rollout", "blue", "counts"),
    [
        ("{strategy: all_at_once}", 4, [4]),
        ("{strategy: canary, canary_percent: 10}", 4, [1, 4]),  # at least one task: green must prove it starts
        ("{strategy: canary, canary_percent: 50}", 6, [3, 6]),
        ("{strategy: linear, linear_step_percent: 25}", 8, [2, 4, 6, 8]),
        ("{strategy: linear, linear_step_percent: 40}", 3, [2, 3, 3]),  # 40 % and 80 % of 3, rounded up
    ],
)
def test_each_step_is_a_share_of_blues_task_count(rollout: str, blue: int, counts: list[int]) -> None:
    green = version(f"rollout: {rollout}\nautoscaling: {{max_replicas: 10}}\n")
    full = full_count(green, {"desiredCount": blue})
    assert [step_count(full, p) for p in green.spec.rollout.traffic_steps] == counts


def test_the_full_count_is_blues_within_greens_bounds_and_never_zero() -> None:
    bounded = version("autoscaling: {min_replicas: 2, max_replicas: 3}\n")
    assert full_count(bounded, {"desiredCount": 9}) == 3
    assert full_count(bounded, {"desiredCount": 1}) == 2
    idle = version("autoscaling: {min_replicas: 0, max_replicas: 3}\n")
    assert full_count(idle, {"desiredCount": 0}) == 1  # blue scaled to zero: green still starts one task
    assert full_count(version("autoscaling: {init_replicas: 2}\n"), None) == 2  # a first version
