"""A fleet that starts no processes: the ``Fleet`` port for in-process tests (moto patches, unit tests).

It records every call with the emulator's time, and lets a test shape what SageMaker would see of a fleet: a
launch that fails with a ``FailureReason`` (as a container that never passes ``/ping``), or a launch or a traffic
step held until the test has looked at the endpoint mid-deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from axon_local.sagemaker.clock import Clock
from axon_local.sagemaker.ports import FleetError, FleetShare, VariantSpec

_HOLD_SECONDS = 60.0  # a held fleet never outlives a forgotten release by more than this


def config_of(fleet_id: str) -> str:
    """The endpoint config a fleet runs (the emulator names fleets ``<config>#<n>``)."""
    return fleet_id.split("#", 1)[0]


class MemoryFleet:
    """In-memory replicas: ``calls`` holds ``(time, kind, details)`` per call, fleets keyed by config name.

    Examples
    --------
    >>> fleet.fail_next_launch("axon-iris", "The primary container did not pass the ping health check.")
    >>> fleet.hold_launches()   # CreateEndpoint/UpdateEndpoint stay Creating until fleet.release()
    >>> fleet.hold_traffic()    # an update stays at its first traffic step until fleet.release()
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, Any]] = []
        self.live: set[str] = set()
        self._lock = threading.Lock()
        self._failures: dict[str, str] = {}  # endpoint -> FailureReason of its next launch
        self._launches = threading.Event()
        self._traffic = threading.Event()
        self.release()

    # ---- test controls ------------------------------------------------------------------------------------

    def fail_next_launch(self, endpoint: str, reason: str) -> None:
        """The endpoint's next launch (CreateEndpoint or UpdateEndpoint's new fleet) fails with ``reason``."""
        with self._lock:
            self._failures[endpoint] = reason

    def hold_launches(self) -> None:
        """Launches wait (the endpoint shows ``Creating``) until :meth:`release`."""
        self._launches.clear()

    def hold_traffic(self) -> None:
        """Health probes of a fleet taking traffic wait, so an update stays at its traffic step, until released."""
        self._traffic.clear()

    def release(self) -> None:
        self._launches.set()
        self._traffic.set()

    def routes(self) -> list[tuple[float, list[tuple[str, float]]]]:
        """Each ``route`` call: its time and the ``(config, fraction)`` of every fleet given traffic."""
        return [(t, [(c, f) for c, f, _ in shares]) for t, kind, shares in self.calls if kind == "route"]

    def kinds(self, kind: str) -> list[Any]:
        return [details for _, k, details in self.calls if k == kind]

    # ---- the Fleet port -----------------------------------------------------------------------------------

    def _record(self, kind: str, details: Any) -> None:
        with self._lock:
            self.calls.append((self.clock.now(), kind, details))

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        self._record("launch", (config_of(fleet_id), [(v.name, v.instance_count) for v in variants]))
        self._launches.wait(_HOLD_SECONDS)
        with self._lock:
            reason = self._failures.pop(endpoint, None)
        if reason is not None:
            raise FleetError(reason)
        self.live.add(fleet_id)

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        self._record("route", [(config_of(s.fleet_id), s.fraction, dict(s.weights)) for s in shares])

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        self._record("scale", (variant, count))

    def unhealthy(self, fleet_id: str) -> str | None:
        self._traffic.wait(_HOLD_SECONDS)
        return None

    def terminate(self, fleet_id: str) -> None:
        self._record("terminate", config_of(fleet_id))
        self.live.discard(fleet_id)
