"""The long-running half of the endpoint state machine: create, blue/green update, resize, delete.

Each operation runs on a worker thread (or inline in tests), drives the :class:`Fleet` port, waits on the injected
clock and moves the endpoint record through AWS's statuses under the emulator's lock. The request half
(``emulator.py``) only validates, records and starts these.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from axon_local.sagemaker.clock import CancelledError, Clock
from axon_local.sagemaker.ports import AlarmSource, Fleet, FleetError, FleetShare
from axon_local.sagemaker.records import EndpointRecord, FleetRecord, PendingDeployment, StatusNote
from axon_local.sagemaker.traffic import RolloutPlan

_log = logging.getLogger(__name__)


class _Cancelled(Exception):
    """The endpoint is being deleted: stop now, the delete cleans up."""


class Deployer:
    def __init__(
        self,
        lock: threading.RLock,
        fleet: Fleet,
        alarms: AlarmSource,
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        background: bool = True,
    ) -> None:
        self._lock = lock
        self._fleet = fleet
        self._alarms = alarms
        self._clock = clock
        self._poll = poll_seconds  # emulated seconds between alarm and health checks while baking
        self._background = background

    # ---- running operations -------------------------------------------------------------------------------

    def start(self, endpoint: EndpointRecord, operation: Callable[[], None]) -> None:
        """Run ``operation`` for ``endpoint`` on its own thread (inline when not in background mode)."""

        def guarded() -> None:
            try:
                operation()
            except (_Cancelled, CancelledError):
                pass
            except Exception as error:  # a bug here must not leave the endpoint stuck in a transient state
                _log.exception("local SageMaker operation on %s failed", endpoint.name)
                with self._lock:
                    endpoint.status = "Failed"
                    endpoint.failure_reason = f"Internal error in the local SageMaker emulator: {error}"

        if not self._background:
            guarded()
            return
        thread = threading.Thread(target=guarded, name=f"sagemaker-{endpoint.name}", daemon=True)
        endpoint.worker = thread
        thread.start()

    def _sleep(self, endpoint: EndpointRecord, seconds: float) -> None:
        if endpoint.cancelled.is_set():
            raise _Cancelled
        self._clock.sleep(seconds)
        if endpoint.cancelled.is_set():
            raise _Cancelled

    def _note(self, fleet: FleetRecord, status: str, message: str) -> None:
        with self._lock:
            fleet.note = StatusNote(status, message, self._clock.now())

    # ---- create -------------------------------------------------------------------------------------------

    def create(self, endpoint: EndpointRecord, fleet: FleetRecord) -> None:
        self._note(fleet, "Creating", "Launching instances and waiting for them to pass /ping.")
        try:
            self._fleet.launch(endpoint.name, fleet.fleet_id, [v.spec for v in fleet.variants.values()])
        except FleetError as error:
            self._fleet.terminate(fleet.fleet_id)
            with self._lock:
                endpoint.status, endpoint.failure_reason = "Failed", str(error)
                endpoint.last_modified = self._clock.now()
            return
        if endpoint.cancelled.is_set():
            raise _Cancelled
        self._fleet.route(endpoint.name, [FleetShare(fleet.fleet_id, 1.0, fleet.weights())])
        with self._lock:
            for variant in fleet.variants.values():
                variant.current_count = variant.desired_count
            fleet.note = None
            endpoint.live, endpoint.pending = fleet, None
            endpoint.status = "InService"
            endpoint.last_modified = self._clock.now()

    # ---- blue/green update --------------------------------------------------------------------------------

    def update(
        self,
        endpoint: EndpointRecord,
        pending: PendingDeployment,
        plan: RolloutPlan,
        alarms: list[str],
        deployment_config: dict[str, object] | None,
    ) -> None:
        green = pending.fleet
        blue = endpoint.live
        assert blue is not None  # UpdateEndpoint is refused unless the endpoint is InService
        deadline = None if plan.max_execution_seconds is None else self._clock.now() + plan.max_execution_seconds
        self._note(green, "Creating", "Launching the new fleet and waiting for it to pass /ping.")
        try:
            self._fleet.launch(endpoint.name, green.fleet_id, [v.spec for v in green.variants.values()])
        except FleetError as error:
            self._fleet.terminate(green.fleet_id)
            self._finish_failed_update(endpoint, str(error))
            return
        with self._lock:
            for variant in green.variants.values():
                variant.current_count = variant.desired_count
        for step in plan.steps:
            percent = round(step.green_fraction * 100, 2)
            self._note(green, "ActivatingTraffic", f"Shifting {percent:g}% of traffic to the new fleet.")
            shares = [FleetShare(green.fleet_id, step.green_fraction, green.weights())]
            if step.green_fraction < 1.0:
                shares.insert(0, FleetShare(blue.fleet_id, 1.0 - step.green_fraction, blue.weights()))
            self._fleet.route(endpoint.name, shares)
            with self._lock:
                pending.green_fraction = step.green_fraction
            self._note(
                green,
                "Baking",
                f"Baking for {step.bake_seconds:g} seconds with {percent:g}% of traffic "
                "on the new fleet (WaitIntervalInSeconds).",
            )
            reason = self._bake(endpoint, green.fleet_id, step.bake_seconds, alarms, deadline)
            if reason is not None:
                self._roll_back(endpoint, blue, green, reason)
                return
        if plan.termination_wait_seconds:
            self._note(
                green,
                "Baking",
                f"Waiting {plan.termination_wait_seconds:g} seconds before terminating "
                "the old fleet (TerminationWaitInSeconds).",
            )
            self._wait(endpoint, plan.termination_wait_seconds)
        with self._lock:
            green.note = None
            endpoint.live, endpoint.pending = green, None
            endpoint.config_name = pending.config_name
            endpoint.last_deployment_config = deployment_config
        self._fleet.terminate(blue.fleet_id)
        with self._lock:
            endpoint.status, endpoint.failure_reason = "InService", None
            endpoint.last_modified = self._clock.now()

    def _wait(self, endpoint: EndpointRecord, seconds: float) -> None:
        elapsed = 0.0
        while elapsed < seconds:
            step = min(self._poll, seconds - elapsed)
            self._sleep(endpoint, step)
            elapsed += step

    def _bake(
        self, endpoint: EndpointRecord, fleet_id: str, seconds: float, alarms: Sequence[str], deadline: float | None
    ) -> str | None:
        """Watch alarms and the new fleet's health for ``seconds``; the reason to roll back, if any."""
        elapsed = 0.0
        while True:
            firing = self._alarms.firing(alarms) if alarms else []
            if firing:
                return f"Deployment rolled back: alarm(s) {', '.join(firing)} in ALARM state during the bake."
            unhealthy = self._fleet.unhealthy(fleet_id)
            if unhealthy is not None:
                return unhealthy
            if deadline is not None and self._clock.now() >= deadline:
                return "Deployment rolled back: MaximumExecutionTimeoutInSeconds exceeded."
            if elapsed >= seconds:
                return None
            step = min(self._poll, seconds - elapsed)
            self._sleep(endpoint, step)
            elapsed += step

    def _roll_back(self, endpoint: EndpointRecord, blue: FleetRecord, green: FleetRecord, reason: str) -> None:
        self._note(green, "Deleting", f"Rolling back to the old fleet: {reason}")
        self._fleet.route(endpoint.name, [FleetShare(blue.fleet_id, 1.0, blue.weights())])
        self._fleet.terminate(green.fleet_id)
        self._finish_failed_update(endpoint, reason)

    def _finish_failed_update(self, endpoint: EndpointRecord, reason: str) -> None:
        """A failed update leaves the old fleet serving: the endpoint is InService again, with the reason."""
        with self._lock:
            endpoint.pending = None
            endpoint.status, endpoint.failure_reason = "InService", reason
            endpoint.last_modified = self._clock.now()

    # ---- UpdateEndpointWeightsAndCapacities --------------------------------------------------------------

    def resize(self, endpoint: EndpointRecord, counts: dict[str, int]) -> None:
        """Apply new instance counts (weights were set by the request) and re-route; roll back what fails."""
        live = endpoint.live
        assert live is not None
        done: dict[str, int] = {}
        try:
            for name, count in counts.items():
                previous = live.variants[name].current_count
                self._fleet.scale(live.fleet_id, name, count)
                done[name] = previous
                with self._lock:
                    live.variants[name].current_count = count
        except FleetError as error:
            with self._lock:
                endpoint.status = "RollingBack"
            for name, previous in done.items():
                self._fleet.scale(live.fleet_id, name, previous)
            with self._lock:
                for variant in live.variants.values():
                    variant.desired_count = variant.current_count = done.get(variant.spec.name, variant.current_count)
                    variant.desired_weight = variant.current_weight
                endpoint.status, endpoint.failure_reason = "InService", str(error)
                endpoint.last_modified = self._clock.now()
            return
        with self._lock:
            for variant in live.variants.values():
                variant.current_weight = variant.desired_weight
        self._fleet.route(endpoint.name, [FleetShare(live.fleet_id, 1.0, live.weights())])
        with self._lock:
            endpoint.status, endpoint.failure_reason = "InService", None
            endpoint.last_modified = self._clock.now()

    # ---- delete -------------------------------------------------------------------------------------------

    def delete(self, endpoint: EndpointRecord, forget: Callable[[], None], previous: threading.Thread | None) -> None:
        """Stop the running operation (``previous``), drain and stop every fleet, then forget the endpoint."""
        endpoint.cancelled.set()
        if previous is not None and previous is not threading.current_thread():
            previous.join()
        self._fleet.route(endpoint.name, [])
        with self._lock:
            fleets = [f for f in (endpoint.live, endpoint.pending.fleet if endpoint.pending else None) if f]
        for fleet in fleets:
            self._fleet.terminate(fleet.fleet_id)
        forget()
