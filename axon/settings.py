"""Typed settings from the environment, read on first use (never at import): Lambdas, CLI and local share them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache

from axon import names
from axon.bundle import BundleLimits
from axon.spec.policy import DEFAULT_INSTANCE_TYPES, DeployPolicy, parse_patterns

# Environment variable names: ``Settings.to_env`` writes them (the CDK app's and local provisioning's Lambda
# environment), ``settings_from_env`` reads them back; one variable per field.
ENV_REGISTRY_TABLE = "AXON_REGISTRY_TABLE"
ENV_MODELS_BUCKET = "AXON_MODELS_BUCKET"
ENV_STATE_MACHINE_ARN = "AXON_STATE_MACHINE_ARN"
ENV_ECR_REPOSITORY = "AXON_ECR_REPOSITORY"
ENV_CODEBUILD_PROJECT = "AXON_CODEBUILD_PROJECT"
ENV_SAGEMAKER_ROLE_ARN = "AXON_SAGEMAKER_ROLE_ARN"
ENV_API_ROLE_BOUNDARY_ARN = "AXON_API_ROLE_BOUNDARY_ARN"  # set: every API runs as its own role (api_roles)
ENV_EVENT_BUS = "AXON_EVENT_BUS"
ENV_MAX_TOTAL_REPLICAS = "AXON_MAX_TOTAL_REPLICAS"
ENV_AUTOSCALER_DRY_RUN = "AXON_AUTOSCALER_DRY_RUN"
ENV_LEASE_SECONDS = "AXON_LEASE_SECONDS"
ENV_ALARM_TOPIC_ARN = "AXON_ALARM_TOPIC_ARN"
ENV_SAGEMAKER_INSTANCE_TYPES = "AXON_SAGEMAKER_INSTANCE_TYPES"  # comma-separated globs, e.g. "ml.m5.*,ml.g5.*"
ENV_ECS_INSTANCE_TYPES = "AXON_ECS_INSTANCE_TYPES"  # the same for ECS (EC2 names, no "ml."); "*" admits any
ENV_BUNDLE_LIMITS = "AXON_BUNDLE_LIMITS"  # JSON object of BundleLimits fields, e.g. {"max_members": 20000}


@dataclass(frozen=True)
class Settings:
    registry_table: str = names.REGISTRY_TABLE
    models_bucket: str = names.LOCAL_MODELS_BUCKET
    state_machine_arn: str = ""
    ecr_repository: str = names.ECR_REPOSITORY
    codebuild_project: str = names.CODEBUILD_PROJECT
    sagemaker_role_arn: str = ""
    api_role_boundary_arn: str = ""
    event_bus: str = names.EVENT_BUS
    max_total_replicas: int = 200
    autoscaler_dry_run: bool = False
    # A crashed execution frees its API's rollout lease after this.
    lease_seconds: int = 32_400  # 9 h: longer than the state machine's 8 h timeout
    alarm_topic_arn: str = ""
    bundle_limits: BundleLimits = field(default_factory=BundleLimits)
    sagemaker_instance_types: tuple[str, ...] = DEFAULT_INSTANCE_TYPES["sagemaker"]
    ecs_instance_types: tuple[str, ...] = DEFAULT_INSTANCE_TYPES["ecs"]

    @property
    def deploy_policy(self) -> DeployPolicy:
        """What validation admits beyond the spec's own rules (``axon.spec.policy``)."""
        return DeployPolicy(
            instance_types={"sagemaker": self.sagemaker_instance_types, "ecs": self.ecs_instance_types},
            max_total_replicas=self.max_total_replicas,
        )

    def to_env(self) -> dict[str, str]:
        """Every field as its environment variable: the exact inverse of :func:`settings_from_env`.

        The one settings-to-environment map: the CDK stack (with token strings for deployed resources) and
        local provisioning both give their Lambdas this. Instance-type allowlists are written comma-joined,
        the bundle limits as a JSON object of every field, the dry-run flag as ``true``/``false``.
        """
        return {
            ENV_REGISTRY_TABLE: self.registry_table,
            ENV_MODELS_BUCKET: self.models_bucket,
            ENV_STATE_MACHINE_ARN: self.state_machine_arn,
            ENV_ECR_REPOSITORY: self.ecr_repository,
            ENV_CODEBUILD_PROJECT: self.codebuild_project,
            ENV_SAGEMAKER_ROLE_ARN: self.sagemaker_role_arn,
            ENV_API_ROLE_BOUNDARY_ARN: self.api_role_boundary_arn,
            ENV_EVENT_BUS: self.event_bus,
            ENV_MAX_TOTAL_REPLICAS: str(self.max_total_replicas),
            ENV_AUTOSCALER_DRY_RUN: "true" if self.autoscaler_dry_run else "false",
            ENV_LEASE_SECONDS: str(self.lease_seconds),
            ENV_ALARM_TOPIC_ARN: self.alarm_topic_arn,
            ENV_BUNDLE_LIMITS: json.dumps(asdict(self.bundle_limits)),
            ENV_SAGEMAKER_INSTANCE_TYPES: ",".join(self.sagemaker_instance_types),
            ENV_ECS_INSTANCE_TYPES: ",".join(self.ecs_instance_types),
        }


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _patterns(source: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """An allowlist variable: unset or empty keeps the default."""
    text = source.get(name, "")
    return parse_patterns(text) if text.strip() else default


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default ``os.environ``); unset variables keep the defaults. Inverse: ``Settings.to_env``."""
    source = os.environ if env is None else env
    default = Settings()
    return Settings(
        registry_table=source.get(ENV_REGISTRY_TABLE, default.registry_table),
        models_bucket=source.get(ENV_MODELS_BUCKET, default.models_bucket),
        state_machine_arn=source.get(ENV_STATE_MACHINE_ARN, default.state_machine_arn),
        ecr_repository=source.get(ENV_ECR_REPOSITORY, default.ecr_repository),
        codebuild_project=source.get(ENV_CODEBUILD_PROJECT, default.codebuild_project),
        sagemaker_role_arn=source.get(ENV_SAGEMAKER_ROLE_ARN, default.sagemaker_role_arn),
        api_role_boundary_arn=source.get(ENV_API_ROLE_BOUNDARY_ARN, default.api_role_boundary_arn),
        event_bus=source.get(ENV_EVENT_BUS, default.event_bus),
        max_total_replicas=int(source.get(ENV_MAX_TOTAL_REPLICAS, default.max_total_replicas)),
        autoscaler_dry_run=_truthy(source.get(ENV_AUTOSCALER_DRY_RUN, "")),
        lease_seconds=int(source.get(ENV_LEASE_SECONDS, default.lease_seconds)),
        alarm_topic_arn=source.get(ENV_ALARM_TOPIC_ARN, default.alarm_topic_arn),
        bundle_limits=BundleLimits(**json.loads(source.get(ENV_BUNDLE_LIMITS) or "{}")),
        sagemaker_instance_types=_patterns(source, ENV_SAGEMAKER_INSTANCE_TYPES, default.sagemaker_instance_types),
        ecs_instance_types=_patterns(source, ENV_ECS_INSTANCE_TYPES, default.ecs_instance_types),
    )


@cache
def get_settings() -> Settings:
    """Process-wide settings, read once on first use (tests call ``get_settings.cache_clear()``)."""
    return settings_from_env()
