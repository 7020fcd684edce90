"""Request routing for InvokeEndpoint: fleets by traffic share, variants by weight, replicas by least load.

One lock guards the routing table and every replica's state and outstanding count, so a replica marked
``draining`` can never be picked afterwards: once :meth:`Router.drain` sees its count reach zero, nothing will
send it another request and it can be stopped without losing one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from axon_local.dataplane.process import ReplicaProcess
from axon_local.dataplane.stats import StatsBook
from axon_local.sagemaker.ports import FleetShare


class ReplicaState(Enum):
    READY = "ready"
    DRAINING = "draining"
    FAILED = "failed"  # the process could not be reached; never picked again


@dataclass(eq=False)
class Replica:
    endpoint: str
    variant: str
    process: ReplicaProcess
    signal_key: str = ""  # the API's signal key its replicas were given (names.SIGNAL_KEY_ENV)
    state: ReplicaState = ReplicaState.READY
    outstanding: int = 0
    last_pick: int = 0  # the router's pick counter when this replica was last chosen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.process.port}/invocations"


class EndpointNotFoundError(Exception):
    pass


class VariantNotFoundError(Exception):
    pass


@dataclass
class _Fleet:
    variants: dict[str, list[Replica]] = field(default_factory=dict)


class Router:
    def __init__(self, stats: StatsBook, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, tuple[FleetShare, ...]] = {}
        # Endpoints whose config has AsyncInferenceConfig: set with their routes, so the front door refuses
        # InvokeEndpoint on them with a lookup, never a DescribeEndpoint per request.
        self._asynchronous: set[str] = set()
        self._fleets: dict[str, _Fleet] = {}
        self._rng = rng or random.Random()
        self._picks = 0
        self.stats = stats

    # ---- table maintenance (worker threads) ---------------------------------------------------------------

    def add_replicas(self, fleet_id: str, variant: str, replicas: Sequence[Replica]) -> None:
        with self._lock:
            self._fleets.setdefault(fleet_id, _Fleet()).variants.setdefault(variant, []).extend(replicas)

    def replicas(self, fleet_id: str, variant: str | None = None) -> list[Replica]:
        with self._lock:
            fleet = self._fleets.get(fleet_id, _Fleet())
            return [r for name, reps in fleet.variants.items() if variant in (None, name) for r in reps]

    def set_routes(self, endpoint: str, shares: Sequence[FleetShare], *, asynchronous: bool = False) -> None:
        """Route ``endpoint`` to ``shares`` (none: stop routing it); ``asynchronous``: its config is an async one."""
        with self._lock:
            if shares:
                self._routes[endpoint] = tuple(shares)
            else:
                self._routes.pop(endpoint, None)
            if shares and asynchronous:
                self._asynchronous.add(endpoint)
            else:
                self._asynchronous.discard(endpoint)

    def is_asynchronous(self, endpoint: str) -> bool:
        """Whether the endpoint is routed as an async one (InvokeEndpointAsync only, as on SageMaker)."""
        with self._lock:
            return endpoint in self._asynchronous

    def routed_variants(self) -> list[tuple[str, str]]:
        """Every (endpoint, variant) taking traffic now: the in-flight publisher reports each, zeros included."""
        with self._lock:
            return sorted(
                {(endpoint, v) for endpoint, shares in self._routes.items() for s in shares for v in s.weights}
            )

    def routed_replicas(self, endpoint: str, variant: str) -> list[Replica]:
        """The replicas of ``variant`` in every fleet the endpoint routes to: the publisher reads their counters."""
        with self._lock:
            return [
                r
                for share in self._routes.get(endpoint, ())
                if variant in share.weights
                for r in self._fleets.get(share.fleet_id, _Fleet()).variants.get(variant, [])
            ]

    def signal_key(self, endpoint: str) -> str:
        """The signal key the endpoint's replicas were given (one per API), for the in-flight publisher."""
        with self._lock:
            return next(
                (
                    r.signal_key
                    for share in self._routes.get(endpoint, ())
                    for replicas in self._fleets.get(share.fleet_id, _Fleet()).variants.values()
                    for r in replicas
                    if r.signal_key
                ),
                "",
            )

    def drain(self, replicas: Sequence[Replica], timeout: float) -> None:
        """Stop picking ``replicas`` and wait (up to ``timeout``) until their outstanding requests finish."""
        with self._lock:
            for replica in replicas:
                if replica.state is ReplicaState.READY:
                    replica.state = ReplicaState.DRAINING
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(r.outstanding == 0 for r in replicas):
                    break
            time.sleep(0.02)
        with self._lock:
            for fleet in self._fleets.values():
                for name, reps in fleet.variants.items():
                    fleet.variants[name] = [r for r in reps if r not in replicas]

    def remove_fleet(self, fleet_id: str) -> None:
        with self._lock:
            self._fleets.pop(fleet_id, None)

    # ---- per request (event loop) -------------------------------------------------------------------------

    def pick(self, endpoint: str, target_variant: str | None, exclude: set[int]) -> Replica | None:
        """Choose and reserve a replica; ``None`` when none is ready now (the caller retries shortly).

        Raises :class:`EndpointNotFoundError` / :class:`VariantNotFoundError` when nothing could ever match.
        """
        with self._lock:
            shares = self._routes.get(endpoint)
            if shares is None:
                raise EndpointNotFoundError(endpoint)
            options: list[tuple[float, list[Replica]]] = []
            known_variant = False
            for share in shares:
                fleet = self._fleets.get(share.fleet_id, _Fleet())
                total = sum(share.weights.values())
                for name, weight in share.weights.items():
                    if target_variant is not None and name != target_variant:
                        continue
                    known_variant = True
                    ready = [
                        r
                        for r in fleet.variants.get(name, [])
                        if r.state is ReplicaState.READY and id(r) not in exclude
                    ]
                    # A named target variant takes the request whatever its weight, as SageMaker's does.
                    chance = share.fraction * (1.0 if target_variant else weight / total if total else 0.0)
                    if ready and chance > 0:
                        options.append((chance, ready))
            if target_variant is not None and not known_variant:
                raise VariantNotFoundError(target_variant)
            if not options:
                return None
            ready = self._rng.choices([o[1] for o in options], weights=[o[0] for o in options])[0]
            # Fewest outstanding; among equals the least recently picked, so idle replicas take turns.
            replica = min(ready, key=lambda r: (r.outstanding, r.last_pick))
            replica.outstanding += 1
            self._picks += 1
            replica.last_pick = self._picks
        self.stats.started(endpoint, replica.variant)
        return replica

    def release(self, replica: Replica, status: int, seconds: float, *, count: bool = True) -> None:
        """Give back a reservation; ``count=False`` when the request never reached the model (it is retried)."""
        with self._lock:
            replica.outstanding -= 1
        if count:
            self.stats.finished(replica.endpoint, replica.variant, status, seconds)
        else:
            self.stats.abandoned(replica.endpoint, replica.variant)

    def mark_failed(self, replica: Replica) -> None:
        with self._lock:
            if replica.state is ReplicaState.READY:
                replica.state = ReplicaState.FAILED
