"""In-memory stand-ins for the emulator's ports: a fleet that records calls, alarms switched by virtual time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from axon_local.sagemaker import FleetError, FleetShare, ManualClock, VariantSpec


def config_of(fleet_id: str) -> str:
    return fleet_id.split("#", 1)[0]


class FakeFleet:
    """Records every call with the virtual time; behaviour is keyed by endpoint config name."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, Any]] = []
        self.launch_failures: dict[str, str] = {}  # config -> FailureReason
        self.launch_seconds: dict[str, float] = {}  # config -> virtual time a launch takes
        self.unhealthy_from: dict[str, float] = {}  # config -> time its fleet turns unhealthy
        self.scale_failures: dict[tuple[str, int], str] = {}  # (variant, count) -> reason
        self.launch_gate: threading.Event | None = None
        self.on_route: Callable[[], None] | None = None
        self.live: set[str] = set()

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        self.calls.append(
            (self.clock.now(), "launch", (config_of(fleet_id), [(v.name, v.instance_count) for v in variants]))
        )
        if self.launch_gate is not None:
            assert self.launch_gate.wait(10)
        self.clock.sleep(self.launch_seconds.get(config_of(fleet_id), 0.0))
        if config_of(fleet_id) in self.launch_failures:
            raise FleetError(self.launch_failures[config_of(fleet_id)])
        self.live.add(fleet_id)

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        self.calls.append(
            (self.clock.now(), "route", [(config_of(s.fleet_id), s.fraction, dict(s.weights)) for s in shares])
        )
        if self.on_route is not None:
            self.on_route()

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        self.calls.append((self.clock.now(), "scale", (variant, count)))
        if (variant, count) in self.scale_failures:
            raise FleetError(self.scale_failures[(variant, count)])

    def unhealthy(self, fleet_id: str) -> str | None:
        start = self.unhealthy_from.get(config_of(fleet_id))
        return "replica exited" if start is not None and self.clock.now() >= start else None

    def terminate(self, fleet_id: str) -> None:
        self.calls.append((self.clock.now(), "terminate", config_of(fleet_id)))
        self.live.discard(fleet_id)

    def routes(self) -> list[tuple[float, list[tuple[str, float]]]]:
        return [(t, [(c, f) for c, f, _ in shares]) for t, kind, shares in self.calls if kind == "route"]

    def kinds(self, kind: str) -> list[Any]:
        return [args for _, k, args in self.calls if k == kind]


class FakeAlarms:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.alarm_at: dict[str, float] = {}
        self.queries: list[list[str]] = []

    def firing(self, alarm_names: Sequence[str]) -> list[str]:
        self.queries.append(list(alarm_names))
        return [n for n in alarm_names if n in self.alarm_at and self.clock.now() >= self.alarm_at[n]]
