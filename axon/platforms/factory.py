"""``compute.platform`` -> a Platform, built from injected clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axon import aws
from axon.platforms.api_roles import Account, ApiRoles
from axon.platforms.base import Platform
from axon.platforms.ecs.config import load_ecs_config
from axon.platforms.ecs.platform import EcsPlatform
from axon.platforms.errors import PlatformError
from axon.platforms.isolated import IsolatedPlatform
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.settings import Settings


class UnsupportedPlatformError(PlatformError):
    code = "platform.unsupported"


def platform_factory(settings: Settings, client: Callable[[str], Any]) -> Callable[[str], Platform]:
    """A function from platform name to a (cached) Platform; ``client(service)`` makes boto3 clients.

    ECS reads its cluster, listener and roles from SSM (``axon.platforms.ecs.config``) on first use, so a
    deployment without the ``AxonEcs`` stack still serves SageMaker APIs; a failed read is not cached.
    """
    cache: dict[str, Platform] = {}
    roles = _api_roles(settings, client)

    def platform_for(name: str) -> Platform:
        if name not in cache:
            if name == "sagemaker":
                cache[name] = SageMakerPlatform(
                    client("sagemaker"),
                    client("sagemaker-runtime"),
                    client("cloudwatch"),
                    settings.sagemaker_role_arn,
                    logs=client("logs"),
                    sns=client("sns"),
                    models_bucket=settings.models_bucket,
                )
            elif name == "ecs":
                config = load_ecs_config(client("ssm"))
                cache[name] = EcsPlatform(
                    client("ecs"),
                    client("elbv2"),
                    client("cloudwatch"),
                    config,
                    logs=client("logs"),
                    lambda_client=client("lambda"),
                    sqs=client("sqs"),  # kind: async (the API's queue)
                    sns=client("sns"),
                )
            else:
                raise UnsupportedPlatformError(f"compute.platform {name!r} is not available in this deployment")
            if roles is not None:
                cache[name] = IsolatedPlatform(cache[name], roles)
        return cache[name]

    return platform_for


def _api_roles(settings: Settings, client: Callable[[str], Any]) -> ApiRoles | None:
    """Per-API roles when the deployment has their boundary policy (``AXON_API_ROLE_BOUNDARY_ARN``)."""
    if not settings.api_role_boundary_arn:
        return None
    account = Account.from_boundary(
        settings.api_role_boundary_arn, aws.region(), settings.models_bucket, settings.ecr_repository
    )
    return ApiRoles(client("iam"), account)
