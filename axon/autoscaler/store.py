"""The state port: where a tick keeps each API's :class:`ScalerState` and its decision timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from axon.autoscaler.errors import StateConflictError
from axon.autoscaler.state import ScalerState


@dataclass(frozen=True)
class StoredState:
    """A state as read, with the revision a conditional write must still find."""

    state: ScalerState
    revision: int


@dataclass(frozen=True)
class DecisionRecord:
    """One decision as the registry timeline keeps it (``DECISION#<iso ts>``) and the EMF metrics report it."""

    api: str
    variant: str
    at: str  # ISO-8601 UTC, the sort key's timestamp
    previous: int
    desired: int
    ready: int
    reason: str
    action: str
    applied: bool  # set_capacity was called (False in dry-run, on hold, or when it failed)
    dry_run: bool
    panicking: bool
    at_max: bool  # sits at max_replicas: the registry note behind the at-max alarm
    in_flight: float | None  # total mean load of the newest window
    error: str | None = None
    demand: float | None = None  # the newest datapoint's arrivals x service time (+ backlog), when saturated
    forecast: int | None = None  # replicas a burst or trend forecast asked for over the lead time
    period_seconds: float | None = None  # the bursts' recurrence behind a burst forecast

    def as_item(self) -> dict[str, Any]:
        """Plain fields (the DynamoDB adapter adds keys and TTL)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


class ScalerStateStore(Protocol):
    """Loads many states at once, writes one conditionally, appends decisions."""

    def load(self, apis: Sequence[str]) -> dict[str, StoredState]:
        """States of ``apis``; an API never seen before is absent."""

    def save(self, api: str, state: ScalerState, expected_revision: int | None) -> int:
        """Write ``state`` if the stored revision is still ``expected_revision`` (``None``: no item yet).

        Returns the new revision; raises :class:`StateConflictError` when another run got there first.
        """

    def record(self, record: DecisionRecord) -> None:
        """Append a decision to the API's timeline."""

    def forget(self, api: str) -> None:
        """Delete the API's state and decision timeline, so a redeploy starts from scratch (no-op if none)."""


@dataclass
class InMemoryScalerStateStore:
    """The store as a dict: tests and local mode (same conditional semantics as DynamoDB)."""

    states: dict[str, StoredState] = field(default_factory=dict)
    decisions: list[DecisionRecord] = field(default_factory=list)

    def load(self, apis: Sequence[str]) -> dict[str, StoredState]:
        return {api: self.states[api] for api in apis if api in self.states}

    def save(self, api: str, state: ScalerState, expected_revision: int | None) -> int:
        current = self.states.get(api)
        if (current.revision if current else None) != expected_revision:
            raise StateConflictError(f"{api}: scaler state changed since it was read")
        revision = (expected_revision or 0) + 1
        self.states[api] = StoredState(state, revision)
        return revision

    def record(self, record: DecisionRecord) -> None:
        self.decisions.append(record)

    def forget(self, api: str) -> None:
        self.states.pop(api, None)
        self.decisions[:] = [d for d in self.decisions if d.api != api]
