"""A spec whose planned rollout outlasts the rollout workflow's execution timeout is refused."""

import json

import pytest

from axon import names
from axon.functions import rollout_asl_text
from axon.spec import SpecRolloutTooLongError, load_spec_text
from axon.spec.duration import PROVISIONING_ALLOWANCE_SECONDS, check_rollout_duration, planned_rollout_seconds


def test_the_asl_timeout_is_the_python_constant() -> None:
    assert json.loads(rollout_asl_text())["TimeoutSeconds"] == names.ROLLOUT_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("rollout", "steps"),
    [
        ("{strategy: all_at_once, bake_seconds: 600}", 1),
        ("{strategy: canary, bake_seconds: 600}", 2),
        ("{strategy: linear, linear_step_percent: 30, bake_seconds: 600}", 4),
        ("{strategy: linear, linear_step_percent: 1, bake_seconds: 600}", 100),
    ],
)
def test_planned_duration_is_every_steps_bake_plus_the_allowance(rollout: str, steps: int) -> None:
    spec = load_spec_text(f"rollout: {rollout}")
    assert planned_rollout_seconds(spec) == steps * 600 + PROVISIONING_ALLOWANCE_SECONDS


def test_a_hundred_hour_linear_rollout_is_refused_with_its_arithmetic() -> None:
    spec = load_spec_text("rollout: {strategy: linear, linear_step_percent: 1, bake_seconds: 3600}")
    with pytest.raises(SpecRolloutTooLongError) as refused:
        check_rollout_duration(spec)
    assert refused.value.code == "spec.rollout_too_long"
    assert "100 traffic step(s) x 3600 s bake" in refused.value.message
    assert f"{names.ROLLOUT_TIMEOUT_SECONDS} s" in refused.value.message


def test_the_limit_itself_is_accepted() -> None:
    # 100 steps x 252 s + 3600 s = 28800 s: exactly the timeout; one second more per bake is refused.
    check_rollout_duration(load_spec_text("rollout: {strategy: linear, linear_step_percent: 1, bake_seconds: 252}"))
    with pytest.raises(SpecRolloutTooLongError):
        check_rollout_duration(load_spec_text("rollout: {strategy: linear, linear_step_percent: 1, bake_seconds: 253}"))


def test_every_strategy_at_its_defaults_and_the_longest_canary_fit() -> None:
    for text in ("", "rollout: {strategy: canary, bake_seconds: 3600}", "rollout: {strategy: linear}"):
        check_rollout_duration(load_spec_text(text))
