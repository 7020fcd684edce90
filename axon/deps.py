"""What the Lambdas, the CLI, admin and the local stack need from AWS: built once per Lambda container (never at
import) and injectable in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from axon import aws
from axon.platforms.base import Platform
from axon.platforms.factory import platform_factory
from axon.registry import DynamoDBRegistry, Registry
from axon.settings import Settings, get_settings


@dataclass
class Deps:
    """Settings, the registry, the platforms and the AWS clients: the outside world of the control plane."""

    settings: Settings
    registry: Registry
    platform_for: Callable[[str], Platform]
    client: Callable[[str], Any]  # boto3 client factory: s3, ecr, codebuild, stepfunctions, events
    clock: Callable[[], float] = field(default=time.time)


def build_deps(settings: Settings, client: Callable[[str], Any]) -> Deps:
    return Deps(
        settings=settings,
        registry=DynamoDBRegistry(settings.registry_table, client("dynamodb")),
        platform_for=platform_factory(settings, client),
        client=cache(client),
    )


@cache
def default_deps() -> Deps:
    """The container-wide dependencies of a Lambda (tests call ``default_deps.cache_clear()``)."""
    return build_deps(get_settings(), aws.client)
