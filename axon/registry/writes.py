"""The registry's storage contract: keys, conditional writes and the conditions they test.

The registry's logic (:mod:`axon.registry.base`) speaks only these types; each store turns them into its own
I/O: DynamoDB expressions and ``TransactWriteItems`` (:mod:`axon.registry.dynamodb`), or dict updates under a lock
(:mod:`axon.registry.memory`). :func:`holds` is the one evaluator of a condition against an item, so the in-memory
store decides exactly what DynamoDB would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]


@dataclass(frozen=True)
class Key:
    pk: str
    sk: str


# ---- conditions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemExists:
    """The item is there (``attribute_exists(pk)``)."""


@dataclass(frozen=True)
class ItemAbsent:
    """No such item yet (``attribute_not_exists(pk)``)."""


@dataclass(frozen=True)
class Equals:
    name: str
    value: Any


@dataclass(frozen=True)
class Missing:
    """The item lacks the attribute (``attribute_not_exists(name)``); an absent item lacks every attribute."""

    name: str


@dataclass(frozen=True)
class LessThan:
    name: str
    value: int


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


Condition = ItemExists | ItemAbsent | Equals | Missing | LessThan | AnyOf | AllOf


def holds(condition: Condition | None, item: Item | None) -> bool:
    """Whether ``condition`` holds for ``item`` (``None``: no item), with DynamoDB's semantics."""
    match condition:
        case None:
            return True
        case ItemExists():
            return item is not None
        case ItemAbsent():
            return item is None
        case Equals(name, value):
            return item is not None and name in item and item[name] == value
        case Missing(name):
            return item is None or name not in item
        case LessThan(name, value):
            return item is not None and isinstance(item.get(name), int) and item[name] < value
        case AnyOf(conditions):
            return any(holds(c, item) for c in conditions)
        case AllOf(conditions):
            return all(holds(c, item) for c in conditions)
    raise TypeError(f"not a condition: {condition!r}")


# ---- writes -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Put:
    """Write the whole item (``item`` holds its attributes, without the key)."""

    key: Key
    item: Mapping[str, Any]
    condition: Condition | None = None


@dataclass(frozen=True)
class Update:
    """Change some attributes: ``set`` (``None`` values are removed), ``add`` to numbers, ``set_if_absent``."""

    key: Key
    set: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, int] = field(default_factory=dict)
    set_if_absent: Mapping[str, Any] = field(default_factory=dict)
    condition: Condition | None = None


Write = Put | Update


def apply_update(update: Update, item: Item | None) -> Item:
    """The item after ``update`` (what DynamoDB's ``UpdateItem`` would store)."""
    result = dict(item or {})
    for name, value in update.set.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    for name, amount in update.add.items():
        result[name] = int(result.get(name, 0)) + amount
    for name, value in update.set_if_absent.items():
        result.setdefault(name, value)
    return result


class ConditionFailedError(Exception):
    """A conditional write found the item in another state (nothing was written)."""
