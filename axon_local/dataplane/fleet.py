"""The ``Fleet`` port over real processes: one ``axon-serve`` per instance of each variant, behind the router."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from axon import names
from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.process import ReplicaProcess, free_port
from axon_local.dataplane.router import Replica, ReplicaState, Router
from axon_local.sagemaker.ports import FleetError, FleetShare, VariantSpec

# argv for one replica: (python, model_dir, port) -> command line
ServeCommand = Callable[[Path, Path, int], list[str]]


def axon_serve_command(python: Path, model_dir: Path, port: int) -> list[str]:
    """The serving runtime's CLI, run by the image's interpreter (the local counterpart of the container)."""
    return [
        str(python),
        "-m",
        "axon_serving",
        "--model-dir",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def api_of(endpoint: str) -> str:
    """``axon-<api>`` -> ``<api>``: the ``Api`` dimension replicas and the in-flight metric report."""
    prefix = f"{names.PROJECT}-"
    return endpoint[len(prefix) :] if endpoint.startswith(prefix) else endpoint


@dataclass(frozen=True)
class FleetTimeouts:
    ping_seconds: float = 120.0  # how long a new replica may take to pass /ping (model load included)
    drain_seconds: float = 60.0  # outstanding requests get this long to finish before the replica stops
    stop_grace_seconds: float = 10.0  # SIGTERM to SIGKILL


class LocalFleet:
    def __init__(
        self,
        router: Router,
        bundles: BundleCache,
        python_for_image: Callable[[str], Path],
        log_dir: Path,
        *,
        command: ServeCommand = axon_serve_command,
        timeouts: FleetTimeouts | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self._router = router
        self._bundles = bundles
        self._python_for_image = python_for_image
        self._log_dir = log_dir
        self._command = command
        self._timeouts = timeouts or FleetTimeouts()
        self._base_env = dict(os.environ if base_env is None else base_env)
        self._endpoints: dict[str, str] = {}  # fleet id -> endpoint
        self._specs: dict[tuple[str, str], VariantSpec] = {}
        self._asynchronous: set[str] = set()  # fleet ids whose endpoint config is an async one (VariantSpec)
        self._lock = threading.Lock()
        self._serial = 0
        self._closing = threading.Event()

    def close(self) -> None:
        """Make pending health waits give up at once (shutdown); fleets are terminated by the emulator."""
        self._closing.set()

    def _start(self, endpoint: str, spec: VariantSpec, model_dir: Path, python: Path) -> Replica:
        port = free_port()
        with self._lock:
            self._serial += 1
            serial = self._serial
        env = {
            **self._base_env,
            **spec.environment,
            "AXON_API": api_of(endpoint),
            "AXON_VARIANT": spec.name,
            # The router publishes each variant's in-flight signal (publisher.py); replicas publishing it too
            # would double the autoscaler's Sum (axon_serving.emf.PUT_METRICS_ENV).
            "AXON_PUT_METRICS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        log = self._log_dir / endpoint / f"{spec.name}-{serial}.log"
        process = ReplicaProcess(self._command(python, model_dir, port), env, port, log)
        return Replica(endpoint, spec.name, process, signal_key=spec.environment.get(names.SIGNAL_KEY_ENV, ""))

    def _start_healthy(self, endpoint: str, spec: VariantSpec, count: int) -> list[Replica]:
        """Start ``count`` replicas and wait for all; on any failure stop them all and raise."""
        if spec.model_data_url is None:
            raise FleetError(f"Production variant {spec.name} has no ModelDataUrl: nothing to serve.")
        model_dir = self._bundles.model_dir(spec.model_data_url)
        python = self._python_for_image(spec.image)
        started: list[Replica] = []
        try:
            for _ in range(count):
                started.append(self._start(endpoint, spec, model_dir, python))
            with ThreadPoolExecutor(max_workers=max(1, count)) as pool:
                waits = [
                    pool.submit(r.process.wait_healthy, self._timeouts.ping_seconds, spec.name, self._closing.is_set)
                    for r in started
                ]
                for wait in waits:
                    wait.result()
        except BaseException:
            self._stop(started)
            raise
        return started

    def _stop(self, replicas: Sequence[Replica]) -> None:
        for replica in replicas:
            replica.process.terminate()
        for replica in replicas:
            replica.process.wait_stopped(self._timeouts.stop_grace_seconds)

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        with self._lock:
            self._endpoints[fleet_id] = endpoint
            if any(spec.asynchronous for spec in variants):
                self._asynchronous.add(fleet_id)
            for spec in variants:
                self._specs[(fleet_id, spec.name)] = spec
        launched: list[Replica] = []
        try:
            for spec in variants:
                replicas = self._start_healthy(endpoint, spec, spec.instance_count) if spec.instance_count else []
                launched.extend(replicas)
                self._router.add_replicas(fleet_id, spec.name, replicas)
        except BaseException:
            self._router.remove_fleet(fleet_id)
            self._stop(launched)
            raise

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        """Route, with the endpoint's kind: async while any fleet taking its traffic runs an async config."""
        with self._lock:
            asynchronous = any(share.fleet_id in self._asynchronous for share in shares)
        self._router.set_routes(endpoint, shares, asynchronous=asynchronous)
        if not shares:
            self._router.stats.forget(endpoint)

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        with self._lock:
            endpoint = self._endpoints[fleet_id]
            spec = self._specs[(fleet_id, variant)]
        replicas = self._router.replicas(fleet_id, variant)
        dead = [r for r in replicas if r.state is not ReplicaState.READY or r.process.exit_code() is not None]
        if dead:  # a replica that exited is replaced by the next scale, as SageMaker replaces an instance
            self._router.drain(dead, 0.0)
            self._stop(dead)
        current = [r for r in replicas if r not in dead]
        if count > len(current):
            self._router.add_replicas(fleet_id, variant, self._start_healthy(endpoint, spec, count - len(current)))
        elif count < len(current):
            extra = current[count:]
            self._router.drain(extra, self._timeouts.drain_seconds)
            self._stop(extra)

    def unhealthy(self, fleet_id: str) -> str | None:
        for replica in self._router.replicas(fleet_id):
            code = replica.process.exit_code()
            if code is not None:
                return (
                    f"An instance of production variant {replica.variant} exited with code {code}. "
                    f"Log {replica.process.log_path}: {replica.process.log_tail()[-300:]}"
                )
        return None

    def terminate(self, fleet_id: str) -> None:
        replicas = self._router.replicas(fleet_id)
        self._router.drain(replicas, self._timeouts.drain_seconds)
        self._stop(replicas)
        self._router.remove_fleet(fleet_id)
        with self._lock:
            self._endpoints.pop(fleet_id, None)
            self._asynchronous.discard(fleet_id)
            for key in [k for k in self._specs if k[0] == fleet_id]:
                del self._specs[key]
