"""The control plane on moto for the harness: the rollout tests' ``Stack`` plus the ECS world.

Tests get the stack from the ``stack`` fixture and attach ECS with :meth:`World.attach`; ``python -m bench.faults``
opens the same world with :func:`open_world`, which does what the fixture does outside pytest.

The test helpers (``tests.functional...``) are imported at run time: test modules are not held to ``mypy
--strict``, and a static import would put them under bench's typecheck. :class:`Stack` states what bench uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from moto import mock_aws

from axon import names
from axon.deps import default_deps
from axon.platforms.ecs.config import EcsConfig
from axon.registry import DynamoDBRegistry
from axon.settings import Settings, get_settings
from axon_local.patches import moto_patches
from axon_local.provision import Provisioned, provision

_rollout: Any = importlib.import_module("tests.functional.rollout.conftest")
poll: Callable[[Callable[[], bool], float], bool] = _rollout.poll  # repeats a poll that races moto's backends
_ecs_world: Any = importlib.import_module("tests.functional.platforms.ecs_world")  # the emulator's test wiring
_platforms: Any = importlib.import_module("tests.functional.platforms.conftest")

CLUSTER = names.ECS_CLUSTER
PLACEMENT_TIMEOUT_SECONDS = 60  # what the ECS end-to-end tests use
_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Axon",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


class Stack(Protocol):
    """What the harness uses of ``tests.functional.rollout.conftest.Stack``."""

    provisioned: Provisioned

    @property
    def settings(self) -> Settings: ...

    @property
    def registry(self) -> DynamoDBRegistry: ...

    def upload(self, api: str, data: bytes, filename: str = ...) -> str: ...

    def running_executions(self) -> list[str]: ...

    def push_image(self, requirements: str = ..., flavour: Any = ...) -> str: ...


def client(service: str) -> Any:
    """The rollout tests' client cache (few clients: creating one reads os.environ, which invocations change)."""
    return _rollout.client(service)


def bundle(spec: str) -> bytes:
    """A model bundle with the rollout tests' echo predictor and ``spec`` as ``axon.yaml``."""
    return bytes(_rollout.bundle(spec))


def rule_weights(config: EcsConfig, api: str) -> list[tuple[str, int]]:
    """The API's listener rule as (version label, weight); [] when it has none."""
    return [(str(label), int(weight)) for label, weight in _platforms.rule_weights(config, api)]


@dataclass
class World:
    """One moto account with axon and the AxonEcs stack provisioned, as an account running both platforms."""

    stack: Stack
    ecs: EcsConfig

    @classmethod
    @contextmanager
    def attach(cls, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
        """Add ECS (and both platforms' serving images in ECR) to a provisioned stack."""
        stack.push_image()
        stack.push_image(flavour="gpu")
        with _ecs_world.ecs_world(client, monkeypatch, placement_timeout_seconds=PLACEMENT_TIMEOUT_SECONDS) as ecs:
            yield cls(stack, ecs.config)


@contextmanager
def open_world() -> Iterator[World]:
    """What the ``stack`` fixture (and the ECS fixture) set up, for a process that is not a pytest session."""
    with ExitStack() as exit_stack:
        monkeypatch = exit_stack.enter_context(pytest.MonkeyPatch.context())
        for name, value in _TEST_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        exit_stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        exit_stack.enter_context(moto_patches())
        exit_stack.callback(_forget_clients)
        _forget_clients()
        stack: Stack = _rollout.Stack(provision(client))
        yield exit_stack.enter_context(World.attach(stack, monkeypatch))


def _forget_clients() -> None:
    """Clients and settings cached for the previous moto account must not serve the next one (as the fixture does)."""
    _rollout._clients.clear()
    get_settings.cache_clear()
    default_deps.cache_clear()
