"""The control plane on moto for the harness: the rollout tests' ``Stack`` plus the ECS world.

Tests get the stack from the ``stack`` fixture and attach ECS with :meth:`World.attach`; ``python -m bench.faults``
opens the same world with :func:`open_world`, which does what the fixture does outside pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
from moto import mock_aws

from axon.local.patches import moto_patches
from axon.local.provision import provision
from axon.platforms.ecs_config import EcsConfig
from axon.rollout.deps import default_deps
from axon.settings import get_settings
from tests.functional.platforms.ecs_world import FakeScheduler, FrontDoor, provision_ecs
from tests.functional.rollout import conftest
from tests.functional.rollout.conftest import Stack, client

PLACEMENT_TIMEOUT_SECONDS = 60  # what the ECS end-to-end tests use
_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Axon",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass
class World:
    """One moto account with axon and the AxonEcs stack provisioned, as an account running both platforms."""

    stack: Stack
    ecs: EcsConfig
    door: FrontDoor

    @classmethod
    @contextmanager
    def attach(cls, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
        """Add ECS (and both platforms' serving images in ECR) to a provisioned stack."""
        stack.push_image()
        stack.push_image(flavour="gpu")
        FakeScheduler().install(monkeypatch)
        with FrontDoor().serve() as door:
            yield cls(stack, provision_ecs(client, door.url, PLACEMENT_TIMEOUT_SECONDS), door)


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
        yield exit_stack.enter_context(World.attach(Stack(provision(client)), monkeypatch))


def _forget_clients() -> None:
    """Clients and settings cached for the previous moto account must not serve the next one (as the fixture does)."""
    conftest._clients.clear()
    get_settings.cache_clear()
    default_deps.cache_clear()
