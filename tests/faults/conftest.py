"""Fixtures of the fault-injection tests: the rollout tests' stack, with the ECS world attached."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bench.faults.world import World
from tests.functional.rollout import conftest as rollout

stack = rollout.stack  # the rollout tests' fixture, requested by name below


@pytest.fixture
def world(stack: rollout.Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with World.attach(stack, monkeypatch) as attached:
        yield attached


@pytest.fixture
def quiet() -> Iterator[None]:
    """No logging: faulted runs log errors and tracebacks by design, and capturing them all costs minutes."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)
