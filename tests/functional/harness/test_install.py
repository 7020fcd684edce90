"""install/uninstall: the patches are explicit, do not nest, and leave moto exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest
from moto.awslambda.models import LambdaFunction
from moto.codebuild.models import CodeBuildBackend
from moto.codebuild.responses import CodeBuildResponse
from moto.events.models import Rule
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from axon_local.patches import PatchOptions, install, moto_patches, uninstall

PATCHED: list[tuple[Any, str]] = [
    (LambdaFunction, "_invoke_lambda"),
    (Rule, "send_to_targets"),
    (WaitFunction, "_wait_interval"),
    (retrier_decl, "time"),
    (CodeBuildBackend, "start_build"),
    (CodeBuildBackend, "batch_get_builds"),
    (CodeBuildResponse, "start_build"),
]


def snapshot() -> list[Any]:
    return [vars(owner)[name] for owner, name in PATCHED]


def test_moto_patches_replaces_then_restores_every_attribute() -> None:
    before = snapshot()
    assert "call_action" not in vars(SageMakerResponse)

    with moto_patches():
        during = snapshot()
        assert all(new is not old for new, old in zip(during, before, strict=True))
        assert "call_action" in vars(SageMakerResponse)  # SageMaker requests go to the emulator

    assert snapshot() == before
    assert "call_action" not in vars(SageMakerResponse)


def test_a_wait_scale_of_one_leaves_moto_waiting_in_real_time() -> None:
    before = vars(WaitFunction)["_wait_interval"], vars(retrier_decl)["time"]
    with moto_patches(wait_scale=1.0):
        assert (vars(WaitFunction)["_wait_interval"], vars(retrier_decl)["time"]) == before


@pytest.mark.parametrize("scale", [-0.1, float("inf"), float("nan")])
def test_a_wait_scale_must_be_a_finite_non_negative_number(scale: float) -> None:
    with pytest.raises(ValueError, match="wait_scale"):
        PatchOptions(wait_scale=scale)


def test_installing_twice_is_refused_and_uninstall_is_idempotent() -> None:
    install()
    try:
        with pytest.raises(RuntimeError):
            install()
    finally:
        uninstall()
    uninstall()
    assert "call_action" not in vars(SageMakerResponse)
