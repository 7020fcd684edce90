"""The shipped in-memory fleet with the knobs only the emulator's unit tests need; alarms switched by virtual time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from axon_local.sagemaker import FleetError, FleetShare, ManualClock, MemoryFleet, VariantSpec
from axon_local.sagemaker.memory import config_of


class FakeFleet(MemoryFleet):
    """:class:`MemoryFleet` on virtual time, plus health and scaling failures keyed by config and variant."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.launch_seconds: dict[str, float] = {}  # config -> virtual time a launch takes
        self.unhealthy_from: dict[str, float] = {}  # config -> time its fleet turns unhealthy
        self.scale_failures: dict[tuple[str, int], str] = {}  # (variant, count) -> reason
        self.on_route: Callable[[], None] | None = None
        self.specs: dict[str, list[VariantSpec]] = {}  # config -> the variants its last fleet was launched with

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        self.specs[config_of(fleet_id)] = list(variants)
        self.clock.sleep(self.launch_seconds.get(config_of(fleet_id), 0.0))
        super().launch(endpoint, fleet_id, variants)

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        super().route(endpoint, shares)
        if self.on_route is not None:
            self.on_route()

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        super().scale(fleet_id, variant, count)
        if (variant, count) in self.scale_failures:
            raise FleetError(self.scale_failures[(variant, count)])

    def unhealthy(self, fleet_id: str) -> str | None:
        super().unhealthy(fleet_id)
        start = self.unhealthy_from.get(config_of(fleet_id))
        return "replica exited" if start is not None and self.clock.now() >= start else None


class FakeAlarms:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.alarm_at: dict[str, float] = {}
        self.queries: list[list[str]] = []

    def firing(self, alarm_names: Sequence[str]) -> list[str]:
        self.queries.append(list(alarm_names))
        return [n for n in alarm_names if n in self.alarm_at and self.clock.now() >= self.alarm_at[n]]
