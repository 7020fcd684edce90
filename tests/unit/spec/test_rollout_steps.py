"""``RolloutSpec.traffic_steps``: the strategy as percentages of traffic on the new version, and the bake it plans."""

import pytest

from axon.spec import RolloutSpec


@pytest.mark.parametrize(
    ("rollout", "steps"),
    [
        (RolloutSpec(), [100]),
        (RolloutSpec(strategy="canary", canary_percent=10), [10, 100]),
        (RolloutSpec(strategy="canary", canary_percent=99), [99, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=25), [25, 50, 75, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=30), [30, 60, 90, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=50), [50, 100]),
    ],
)
def test_traffic_steps(rollout: RolloutSpec, steps: list[int]) -> None:
    assert rollout.traffic_steps == steps


def test_bake_after_every_step() -> None:
    assert RolloutSpec(strategy="linear", linear_step_percent=25, bake_seconds=60).total_bake_seconds == 240
