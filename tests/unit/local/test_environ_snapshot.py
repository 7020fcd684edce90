"""In-process Lambda invocations change ``os.environ`` while other threads read it: readers get a consistent copy.

The finding: a local image build failed with ``KeyError: 'POWERTOOLS_TRACE_DISABLED'`` raised from urllib's proxy
lookup (``os.environ.items()``, inside a new boto3 connection) when an invocation on another thread removed its
function's variables between the lookup's listing of the keys and its reading of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from axon_local.patches import install, uninstall


@pytest.fixture
def vanishing(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AXON_TEST_VANISHING", "1")  # the newest key: read last by an iteration
    yield "AXON_TEST_VANISHING"


def _read_while_removed(name: str) -> dict[str, str]:
    """Start reading every variable, remove ``name`` once the keys are listed, finish reading."""
    items = iter(os.environ.items())
    seen = dict([next(items)])
    os.environ.pop(name, None)
    seen.update(items)
    return seen


def test_without_the_patch_a_variable_removed_mid_read_raises(vanishing: str) -> None:
    with pytest.raises(KeyError):
        _read_while_removed(vanishing)


def test_with_the_local_stack_installed_readers_get_a_consistent_copy(vanishing: str) -> None:
    install()
    try:
        seen = _read_while_removed(vanishing)
        assert seen[vanishing] == "1" and vanishing not in os.environ
        copied = os.environ.copy()
        assert isinstance(copied, dict) and copied == {k: os.environ[k] for k in os.environ}
    finally:
        uninstall()
    os.environ[vanishing] = "1"  # uninstalled: os.environ is the standard library's again
    with pytest.raises(KeyError):
        _read_while_removed(vanishing)
