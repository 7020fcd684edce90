"""How long a spec's rollout is planned to take, and the refusal of one that cannot finish in the workflow."""

from __future__ import annotations

from axon.names import ROLLOUT_TIMEOUT_SECONDS
from axon.spec.errors import SpecRolloutTooLongError
from axon.spec.user_config import ApiSpec

# Time a rollout spends before and around its bakes: a CodeBuild image build (a GPU image with large wheels takes
# tens of minutes), provisioning the new fleet and passing its health checks (SageMaker allows itself 30 minutes),
# the smoke test and finalizing. One hour keeps a plan that fits from being cut off mid-shift.
PROVISIONING_ALLOWANCE_SECONDS = 3_600


def planned_rollout_seconds(spec: ApiSpec) -> int:
    """Every bake of every traffic step, plus the provisioning allowance."""
    return spec.rollout.total_bake_seconds + PROVISIONING_ALLOWANCE_SECONDS


def check_rollout_duration(spec: ApiSpec) -> None:
    """Refuse a spec whose rollout Step Functions would stop part-way, with the traffic split between versions.

    Raises
    ------
    SpecRolloutTooLongError
        ``spec.rollout_too_long``, with the plan's arithmetic and what to change.
    """
    planned = planned_rollout_seconds(spec)
    if planned <= ROLLOUT_TIMEOUT_SECONDS:
        return
    rollout = spec.rollout
    steps = len(rollout.traffic_steps)
    raise SpecRolloutTooLongError(
        f"rollout: {rollout.strategy} plans {steps} traffic step(s) x {rollout.bake_seconds} s bake"
        f" + {PROVISIONING_ALLOWANCE_SECONDS} s provisioning = {planned} s ({planned / 3600:.1f} h), over the"
        f" rollout workflow's {ROLLOUT_TIMEOUT_SECONDS} s ({ROLLOUT_TIMEOUT_SECONDS / 3600:.1f} h) limit;"
        " use fewer steps (a larger linear_step_percent) or a shorter bake_seconds"
    )
