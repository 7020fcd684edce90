"""What is installed: the replaced moto attributes with their originals, and the current options."""

from __future__ import annotations

import threading
from typing import Any

from axon_local.patches.options import PatchOptions

_MISSING = object()

lock = threading.Lock()
"""Held by install and uninstall."""

options = PatchOptions()
"""The options of the current installation (the defaults when nothing is installed)."""

_applied: list[tuple[Any, str, Any]] = []
_originals: dict[tuple[Any, str], Any] = {}


def patch(owner: Any, name: str, value: Any) -> None:
    """Set ``owner.name`` to ``value``, remembering what was there for :func:`original` and :func:`restore`."""
    _originals[(owner, name)] = getattr(owner, name, _MISSING)
    _applied.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def original(owner: Any, name: str) -> Any:
    """What ``owner.name`` was before :func:`patch` replaced it (the wrapped moto code)."""
    return _originals[(owner, name)]


def installed() -> bool:
    return bool(_applied)


def restore() -> None:
    """Put back every patched attribute, newest first, and reset the options."""
    global options
    while _applied:
        owner, name, previous = _applied.pop()
        if previous is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, previous)
    _originals.clear()
    options = PatchOptions()
