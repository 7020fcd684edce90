"""``Settings.to_env`` is the exact inverse of ``settings_from_env``: one map from settings to the environment."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from axon import settings
from axon.bundle import BundleLimits
from axon.settings import Settings, settings_from_env

# A value other than the default for every field: a new field must be added here (and so to the round trip).
NON_DEFAULT: dict[str, Any] = {
    "registry_table": "other-registry",
    "models_bucket": "other-models",
    "state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:other",
    "ecr_repository": "other-serving",
    "codebuild_project": "other-build",
    "sagemaker_role_arn": "arn:aws:iam::123456789012:role/other",
    "api_role_boundary_arn": "arn:aws:iam::123456789012:policy/axon/boundary",
    "event_bus": "other-bus",
    "max_total_replicas": 17,
    "autoscaler_dry_run": True,
    "lease_seconds": 600,
    "alarm_topic_arn": "arn:aws:sns:eu-west-1:123456789012:alarms",
    "bundle_limits": BundleLimits(max_members=20_000, max_compression_ratio=50.5),
    "sagemaker_instance_types": ("ml.p5.*", "ml.m5.large"),
    "ecs_instance_types": ("*",),
}
ENV_NAMES = {value for name, value in vars(settings).items() if name.startswith("ENV_")}


def test_every_field_has_a_sample_value() -> None:
    assert set(NON_DEFAULT) == {f.name for f in dataclasses.fields(Settings)}


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_every_field_round_trips_through_its_own_variable(name: str) -> None:
    changed = dataclasses.replace(Settings(), **{name: NON_DEFAULT[name]})
    assert changed != Settings()
    assert settings_from_env(changed.to_env()) == changed
    differing = {k for k, v in changed.to_env().items() if Settings().to_env()[k] != v}
    assert len(differing) == 1  # the field has a variable of its own


def test_every_variable_is_written_once_per_field() -> None:
    env = Settings().to_env()
    assert set(env) == ENV_NAMES
    assert len(env) == len(dataclasses.fields(Settings))


@pytest.mark.parametrize("value", [Settings(), Settings(**NON_DEFAULT)])
def test_settings_to_env_to_settings(value: Settings) -> None:
    assert settings_from_env(value.to_env()) == value


def test_full_env_to_settings_to_env() -> None:
    env = {
        settings.ENV_REGISTRY_TABLE: "t",
        settings.ENV_MODELS_BUCKET: "b",
        settings.ENV_STATE_MACHINE_ARN: "arn:sm",
        settings.ENV_ECR_REPOSITORY: "r",
        settings.ENV_CODEBUILD_PROJECT: "p",
        settings.ENV_SAGEMAKER_ROLE_ARN: "arn:role",
        settings.ENV_API_ROLE_BOUNDARY_ARN: "arn:boundary",
        settings.ENV_EVENT_BUS: "bus",
        settings.ENV_MAX_TOTAL_REPLICAS: "12",
        settings.ENV_AUTOSCALER_DRY_RUN: "true",
        settings.ENV_LEASE_SECONDS: "60",
        settings.ENV_ALARM_TOPIC_ARN: "arn:topic",
        settings.ENV_BUNDLE_LIMITS: json.dumps(dataclasses.asdict(BundleLimits(max_text_file_bytes=1024))),
        settings.ENV_SAGEMAKER_INSTANCE_TYPES: "ml.m5.*,ml.g5.*",
        settings.ENV_ECS_INSTANCE_TYPES: "*",
    }
    assert set(env) == ENV_NAMES
    assert settings_from_env(env).to_env() == env


def test_empty_env_is_the_defaults() -> None:
    assert settings_from_env({}) == Settings()
    assert settings_from_env({}).to_env() == Settings().to_env()
