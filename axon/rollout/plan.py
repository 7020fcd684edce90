"""Pure rollout planning: ``rollout.strategy`` -> traffic steps, with no AWS calls.

Platforms that shift traffic themselves (ECS listener weights, the local router) walk these steps; SageMaker gets
the same intent as a ``DeploymentConfig`` (``axon/platforms/sagemaker/specs.py``).
"""

from __future__ import annotations

from axon.spec import RolloutSpec


def traffic_steps(rollout: RolloutSpec) -> list[int]:
    """Percent of traffic on the new version after each step; the last step is always 100.

    Examples
    --------
    >>> traffic_steps(RolloutSpec(strategy="canary", canary_percent=10))
    [10, 100]
    >>> traffic_steps(RolloutSpec(strategy="linear", linear_step_percent=30))
    [30, 60, 90, 100]
    """
    if rollout.strategy == "canary":
        return [rollout.canary_percent, 100]
    if rollout.strategy == "linear":
        step = rollout.linear_step_percent
        return [*range(step, 100, step), 100]
    return [100]


def total_bake_seconds(rollout: RolloutSpec) -> int:
    """Waiting time a rollout spends baking: one bake after every step."""
    return rollout.bake_seconds * len(traffic_steps(rollout))
