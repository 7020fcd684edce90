"""The two narrow ports the endpoint state machine drives: the serving fleet and the rollback alarms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class FleetError(Exception):
    """A fleet could not start or keep serving; ``str(error)`` becomes the endpoint's ``FailureReason``."""


class ReplicaExitedError(FleetError):
    """A replica's process exited before it passed ``/ping`` (the local ECS agent records it as a STOPPED task)."""

    def __init__(self, message: str, exit_code: int, log_path: Path) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.log_path = log_path


@dataclass(frozen=True)
class VariantSpec:
    """One production variant as the data plane needs it: what to run and how many copies."""

    name: str
    image: str
    model_data_url: str | None
    environment: Mapping[str, str] = field(default_factory=dict)
    instance_count: int = 1
    asynchronous: bool = False  # its endpoint config has AsyncInferenceConfig: InvokeEndpoint is refused on it


@dataclass(frozen=True)
class FleetShare:
    """Traffic for one fleet: its share of the endpoint (0-1) and the relative weight of each variant."""

    fleet_id: str
    fraction: float
    weights: Mapping[str, float]


class Fleet(Protocol):
    """Replica processes behind the router; every method blocks until done (it runs on a worker thread)."""

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        """Start every instance and wait until each passes ``/ping``; raise :class:`FleetError` if one does not.

        On failure the fleet's replicas are already stopped; ``terminate`` stays safe to call.
        """

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        """Send the endpoint's traffic to these fleets (fractions sum to 1); an empty list stops routing."""

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        """Run ``count`` instances of a variant: new ones pass ``/ping`` first, extra ones are drained."""

    def unhealthy(self, fleet_id: str) -> str | None:
        """Why the fleet can no longer serve (a replica exited), or ``None`` while it is healthy."""

    def terminate(self, fleet_id: str) -> None:
        """Drain and stop every replica of the fleet; idempotent, also for a fleet never (fully) launched."""


class AlarmSource(Protocol):
    def firing(self, alarm_names: Sequence[str]) -> list[str]:
        """The names among ``alarm_names`` whose state is ``ALARM`` now."""
