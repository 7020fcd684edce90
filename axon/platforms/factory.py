"""``compute.platform`` -> a Platform, built from injected clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axon.platforms.base import Platform
from axon.platforms.errors import PlatformError
from axon.platforms.sagemaker import SageMakerPlatform
from axon.settings import Settings


class UnsupportedPlatformError(PlatformError):
    code = "platform.unsupported"


def platform_factory(settings: Settings, client: Callable[[str], Any]) -> Callable[[str], Platform]:
    """A function from platform name to a (cached) Platform; ``client(service)`` makes boto3 clients."""
    cache: dict[str, Platform] = {}

    def platform_for(name: str) -> Platform:
        if name not in cache:
            if name != "sagemaker":
                raise UnsupportedPlatformError(f"compute.platform {name!r} is not available in this deployment")
            cache[name] = SageMakerPlatform(
                client("sagemaker"), client("sagemaker-runtime"), client("cloudwatch"), settings.sagemaker_role_arn
            )
        return cache[name]

    return platform_for
