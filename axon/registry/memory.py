"""The registry in memory: the same logic as on DynamoDB, for unit tests of the rollout steps without moto.

Conditions are decided by :func:`axon.registry.writes.holds`, the evaluator both stores agree on; a group of writes
is checked whole before any is applied, as ``TransactWriteItems`` does.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from axon.registry import keys
from axon.registry.base import Registry
from axon.registry.writes import ConditionFailedError, Item, Key, Put, Update, Write, apply_update, holds


class InMemoryRegistry(Registry):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.items: dict[Key, Item] = {}
        self._lock = threading.Lock()

    def _get(self, key: Key) -> Item | None:
        with self._lock:
            item = self.items.get(key)
            return copy.deepcopy(item) if item is not None else None

    def _query(self, pk: str, sk_prefix: str) -> Iterator[Item]:
        with self._lock:
            found = sorted((k.sk, v) for k, v in self.items.items() if k.pk == pk and k.sk.startswith(sk_prefix))
            matches = [copy.deepcopy(item) for _, item in found]
        yield from matches

    def _api_items(self) -> Iterator[Item]:
        with self._lock:
            found = [copy.deepcopy(v) for v in self.items.values() if v.get(keys.ENTITY_ATTRIBUTE) == keys.API_ENTITY]
        yield from found

    def _update(self, update: Update) -> Item:
        with self._lock:
            self._check([update])
            self.items[update.key] = apply_update(update, self.items.get(update.key))
            return copy.deepcopy(self.items[update.key])

    def _write(self, writes: Sequence[Write]) -> None:
        with self._lock:
            self._check(writes)
            for write in writes:
                if isinstance(write, Put):
                    self.items[write.key] = copy.deepcopy(dict(write.item))
                else:
                    self.items[write.key] = apply_update(write, self.items.get(write.key))

    def _check(self, writes: Sequence[Write]) -> None:
        for write in writes:
            if not holds(write.condition, self.items.get(write.key)):
                raise ConditionFailedError(f"condition failed on {write.key}")
