"""Every way a rollout can fail, through the real ASL: the version records why, the live version keeps serving,
and nothing the failed rollout created is left behind."""

from __future__ import annotations

import dataclasses
import json

import pytest

from axon.bundle import BundleLimits
from axon.deps import default_deps
from axon.functions import ALL_FUNCTIONS
from axon.registry import VersionStatus
from axon.settings import ENV_BUNDLE_LIMITS, get_settings
from axon_local.patches import codebuild_outcomes, invocation_outcomes
from tests.functional.rollout.conftest import Stack, bundle, client
from tests.unit.bundle.cases import CASES

DEFAULT_LIMIT_CASES = sorted(name for name, case in CASES.items() if case.limits == BundleLimits())
CONFIGURED_LIMIT_CASES = sorted(name for name, case in CASES.items() if case.limits != BundleLimits())


def _live_v1(stack: Stack) -> None:
    stack.push_image()
    assert stack.wait_final("iris", stack.upload("iris", bundle())).status == VersionStatus.LIVE


def _assert_refused(stack: Stack, data: bytes, code: str) -> None:
    record = stack.wait_final("iris", stack.upload("iris", data))
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == code, record.reason
    assert stack.sagemaker_resources() == (["axon-iris"], ["axon-iris-v1"], ["axon-iris-v1"])
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v1"
    api = stack.registry.get_api("iris")
    assert api is not None and api.live_seq == 1 and api.lease_owner is None


@pytest.mark.parametrize("case", DEFAULT_LIMIT_CASES)
def test_each_refused_bundle_fails_with_its_code_and_the_live_version_keeps_serving(stack: Stack, case: str) -> None:
    _live_v1(stack)
    _assert_refused(stack, CASES[case].build(), CASES[case].code)


@pytest.mark.parametrize("case", CONFIGURED_LIMIT_CASES)
def test_configured_limits_apply(stack: Stack, case: str) -> None:
    _live_v1(stack)
    limits = json.dumps(dataclasses.asdict(CASES[case].limits))
    lam = client("lambda")
    # A stack-wide setting: every function gets it (in-process handlers share one settings cache).
    for function in ALL_FUNCTIONS:
        environment = lam.get_function_configuration(FunctionName=function.function_name)["Environment"]["Variables"]
        lam.update_function_configuration(
            FunctionName=function.function_name, Environment={"Variables": {**environment, ENV_BUNDLE_LIMITS: limits}}
        )
    get_settings.cache_clear()  # a configuration change starts fresh Lambda containers
    default_deps.cache_clear()
    _assert_refused(stack, CASES[case].build(), CASES[case].code)


def test_a_bundle_for_a_platform_this_deployment_lacks_is_refused_before_any_build(stack: Stack) -> None:
    _live_v1(stack)
    ecs = bundle("compute: {platform: ecs, instance_type: g5.xlarge}", requirements="numpy\n")
    _assert_refused(stack, ecs, "platform.ecs_not_configured")  # no AxonEcs stack, so no /axon/ecs/config
    assert stack.builds() == []


def test_an_image_cache_miss_builds_once_then_reuses(stack: Stack) -> None:
    first = stack.wait_final("iris", stack.upload("iris", bundle(requirements="numpy>=1.26\n")))
    assert first.status == VersionStatus.LIVE, first.reason
    assert len(stack.builds()) == 1
    second = stack.wait_final(
        "iris", stack.upload("iris", bundle("serving: {max_concurrency: 2}", requirements="numpy>=1.26  # same\n"))
    )
    assert second.status == VersionStatus.LIVE
    assert second.image_uri == first.image_uri
    assert len(stack.builds()) == 1  # same requirements: no second build


def test_a_failed_build_fails_the_version_and_deploys_nothing(stack: Stack) -> None:
    _live_v1(stack)
    codebuild_outcomes.fail_next_build("pip: No matching distribution found for nosuchpkg", phase="BUILD")
    record = stack.wait_final("iris", stack.upload("iris", bundle(requirements="nosuchpkg==1.0\n")))
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "image.build_failed"
    assert "nosuchpkg" in record.reason.message
    assert stack.sagemaker_resources() == (["axon-iris"], ["axon-iris-v1"], ["axon-iris-v1"])


def test_a_smoke_test_failure_puts_traffic_back_on_the_old_version(stack: Stack) -> None:
    _live_v1(stack)
    invocation_outcomes.fail("axon-iris", status=500, message="KeyError: 'instances'")
    record = stack.wait_final("iris", stack.upload("iris", bundle("smoke_test: {payload: {x: 1}}")))
    assert record.status == VersionStatus.ROLLED_BACK
    assert record.reason is not None and record.reason.code == "smoke_test.failed"
    assert "KeyError" in record.reason.message
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v1"
    _, configs, models = stack.sagemaker_resources()
    assert configs == ["axon-iris-v1"] and models == ["axon-iris-v1"]


def test_a_passing_smoke_test_is_on_the_timeline(stack: Stack) -> None:
    _live_v1(stack)
    version_id = stack.upload("iris", bundle("smoke_test: {payload: {x: 1}}"))
    assert stack.wait_final("iris", version_id).status == VersionStatus.LIVE
    assert any(m.startswith("smoke test passed") for m in stack.timeline("iris", version_id))
