"""``compute.platform`` -> a Platform, built from injected clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axon.platforms.base import Platform
from axon.platforms.ecs import EcsPlatform
from axon.platforms.ecs_config import load_ecs_config
from axon.platforms.errors import PlatformError
from axon.platforms.sagemaker import SageMakerPlatform
from axon.settings import Settings


class UnsupportedPlatformError(PlatformError):
    code = "platform.unsupported"


def platform_factory(settings: Settings, client: Callable[[str], Any]) -> Callable[[str], Platform]:
    """A function from platform name to a (cached) Platform; ``client(service)`` makes boto3 clients.

    ECS reads its cluster, listener and roles from SSM (``axon.platforms.ecs_config``) on first use, so a
    deployment without the ``AxonEcs`` stack still serves SageMaker APIs; a failed read is not cached.
    """
    cache: dict[str, Platform] = {}

    def platform_for(name: str) -> Platform:
        if name not in cache:
            if name == "sagemaker":
                cache[name] = SageMakerPlatform(
                    client("sagemaker"),
                    client("sagemaker-runtime"),
                    client("cloudwatch"),
                    settings.sagemaker_role_arn,
                    logs=client("logs"),
                )
            elif name == "ecs":
                config = load_ecs_config(client("ssm"))
                cache[name] = EcsPlatform(
                    client("ecs"), client("elbv2"), client("cloudwatch"), config, logs=client("logs")
                )
            else:
                raise UnsupportedPlatformError(f"compute.platform {name!r} is not available in this deployment")
        return cache[name]

    return platform_for
