"""Limits an operator sets on every spec (instance types, replicas) and the smoke payload's bound (issue 14)."""

from __future__ import annotations

import json

import pytest

from axon.settings import ENV_ECS_INSTANCE_TYPES, ENV_SAGEMAKER_INSTANCE_TYPES, settings_from_env
from axon.spec import SpecError, load_spec_text
from axon.spec.policy import DEFAULT_INSTANCE_TYPES, DeployPolicy, check_policy, parse_patterns
from axon.spec.user_config import SMOKE_PAYLOAD_MAX_BYTES


def code_of(spec: str, policy: DeployPolicy | None = None) -> str | None:
    try:
        check_policy(load_spec_text(spec), policy or DeployPolicy())
    except SpecError as error:
        assert "\n" not in error.message
        return error.code
    return None


def test_a_900_kib_smoke_payload_is_refused_when_the_spec_is_read() -> None:
    """It used to pass validation and fail later, unclearly, at DynamoDB's 400 KB item limit."""
    with pytest.raises(SpecError, match=r"smoke_test\.payload: .*65536") as caught:
        load_spec_text(json.dumps({"smoke_test": {"payload": {"text": "x" * 900 * 1024}}}))
    assert caught.value.code == "spec.invalid"


def test_a_smoke_payload_of_exactly_64_kib_passes() -> None:
    text = "x" * (SMOKE_PAYLOAD_MAX_BYTES - 2)  # plus the two quotes of its JSON form
    assert load_spec_text(json.dumps({"smoke_test": {"payload": text}})).smoke_test.payload == text
    with pytest.raises(SpecError):
        load_spec_text(json.dumps({"smoke_test": {"payload": text + "x"}}))


def test_a_binary_smoke_payload_must_be_utf8() -> None:
    assert load_spec_text("smoke_test: {payload: !!binary aGVsbG8=}").smoke_test.payload == b"hello"
    with pytest.raises(SpecError, match="UTF-8"):
        load_spec_text("smoke_test: {payload: !!binary //79}")


@pytest.mark.parametrize(
    "spec",
    [
        "{}",
        "compute: {instance_type: ml.g5.12xlarge, gpu: 4}",
        "compute: {instance_type: ml.c7i.large}",
        "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}",
        "compute: {platform: ecs, instance_type: m7i.large}",
    ],
)
def test_common_cpu_and_gpu_families_are_allowed_by_default(spec: str) -> None:
    assert code_of(spec) is None


@pytest.mark.parametrize(
    "spec",
    [
        "compute: {instance_type: ml.p5.48xlarge, gpu: 8}",
        "compute: {instance_type: ml.x1e.32xlarge}",
        "compute: {instance_type: ml.inf2.xlarge}",
        "compute: {platform: ecs, instance_type: p4d.24xlarge, gpu: 8}",
        "compute: {platform: ecs, instance_type: u-12tb1.112xlarge}",
    ],
)
def test_other_instance_types_are_refused_with_a_code(spec: str) -> None:
    assert code_of(spec) == "spec.instance_type_not_allowed"


def test_the_allowlist_comes_from_the_environment_per_platform() -> None:
    settings = settings_from_env({ENV_SAGEMAKER_INSTANCE_TYPES: "ml.p5.*, ml.m5.large", ENV_ECS_INSTANCE_TYPES: "*"})
    policy = settings.deploy_policy
    assert policy.instance_types == {"sagemaker": ("ml.p5.*", "ml.m5.large"), "ecs": ("*",)}
    assert code_of("compute: {instance_type: ml.p5.48xlarge, gpu: 8}", policy) is None
    assert code_of("compute: {instance_type: ml.m5.xlarge}", policy) == "spec.instance_type_not_allowed"
    assert code_of("compute: {platform: ecs, instance_type: x2iedn.32xlarge}", policy) is None
    assert settings_from_env({}).deploy_policy.instance_types == DEFAULT_INSTANCE_TYPES
    assert settings_from_env({ENV_ECS_INSTANCE_TYPES: " "}).ecs_instance_types == DEFAULT_INSTANCE_TYPES["ecs"]
    with pytest.raises(ValueError, match="at least one pattern"):
        parse_patterns(" , ")


def test_max_replicas_may_not_exceed_the_platform_wide_cap() -> None:
    """Up to 1,000 replicas used to be accepted whatever the cap."""
    assert code_of("autoscaling: {max_replicas: 1000}") == "spec.replicas_over_cap"
    assert code_of("autoscaling: {max_replicas: 200}") is None
    policy = settings_from_env({"AXON_MAX_TOTAL_REPLICAS": "20"}).deploy_policy
    assert code_of("autoscaling: {max_replicas: 21}", policy) == "spec.replicas_over_cap"
    assert code_of("autoscaling: {max_replicas: 20}", policy) is None
