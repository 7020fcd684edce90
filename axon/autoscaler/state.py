"""What the autoscaler remembers about one API between two Lambda runs (persisted, never kept in memory)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from axon.autoscaler.forecast import History

# Bump when the JSON shape changes; an unknown version is read as a fresh state (the safe default). Format 1 (no
# history, service or provisioning estimates) is read with those empty: an upgrade keeps the timeline.
STATE_FORMAT = 2
READABLE_FORMATS = (1, 2)


@dataclass(frozen=True)
class Provisioning:
    """A scale-out that the platform has accepted and whose replicas are not all serving yet."""

    replicas: int  # the count requested
    since: float  # epoch seconds of the request
    ready_at: float | None = None  # the decision that first saw them serve: datapoints before it still show the
    # queue they came to drain, so the scale-out counts as under way until a newer datapoint arrives


@dataclass(frozen=True)
class LastAction:
    """The last change the autoscaler applied (or, in dry-run, would have applied)."""

    at: float  # epoch seconds
    previous: int
    desired: int
    reason: str


@dataclass(frozen=True)
class ScalerState:
    """The recommendation timeline, panic state, provisioning in flight and last action of one API.

    A Lambda has no memory between runs, so Cortex's in-memory timeline and Knative's in-memory panic
    state live here and are written back to the registry after every decision.

    Examples
    --------
    >>> s = ScalerState(started_at=0.0, recommendations=((10.0, 3, 5),))
    >>> ScalerState.from_json(s.to_json()) == s
    True
    """

    started_at: float | None = None  # first decision for this API: guards stabilization with no history
    last_point_at: float | None = None  # newest datapoint already turned into a recommendation
    recommendations: tuple[tuple[float, int, int], ...] = ()  # per 10-s datapoint: (its time, replicas for
    # the window's mean, replicas for the datapoint alone)
    panic_since: float | None = None  # when the current panic started; None when not panicking
    last_panic_at: float | None = None  # newest datapoint that crossed the panic threshold
    provisioning: Provisioning | None = None
    last_action: LastAction | None = None
    history: History = field(default_factory=History)  # peak load per minute over the last day (forecasts read it)
    service_seconds: float | None = None  # running estimate of a request's time in the predictor
    provisioning_seconds: float | None = None  # running estimate of request -> serving, learned from scale-outs
    ready_log: tuple[tuple[float, int], ...] = ()  # (decision time, ready replicas) over the lookback: a datapoint
    # is judged saturated against the replicas that served it, not today's

    def ready_at(self, at: float, default: int) -> int:
        """Ready replicas at the newest logged decision no later than ``at`` (``default`` before the log)."""
        ready = default
        for logged, count in self.ready_log:
            if logged > at:
                break
            ready = count
        return ready

    @property
    def panicking(self) -> bool:
        return self.panic_since is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (numbers, lists, strings), the body of the registry's ``SCALER`` item."""
        return {
            "format": STATE_FORMAT,
            "started_at": self.started_at,
            "last_point_at": self.last_point_at,
            "recommendations": [list(rec) for rec in self.recommendations],
            "panic_since": self.panic_since,
            "last_panic_at": self.last_panic_at,
            "provisioning": None
            if self.provisioning is None
            else {
                "replicas": self.provisioning.replicas,
                "since": self.provisioning.since,
                "ready_at": self.provisioning.ready_at,
            },
            "last_action": None
            if self.last_action is None
            else {
                "at": self.last_action.at,
                "previous": self.last_action.previous,
                "desired": self.last_action.desired,
                "reason": self.last_action.reason,
            },
            "history": {"start": self.history.start, "peaks": [_compact(p) for p in self.history.peaks]},
            "service_seconds": self.service_seconds,
            "provisioning_seconds": self.provisioning_seconds,
            "ready_log": [list(entry) for entry in self.ready_log],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> ScalerState:
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScalerState:
        """Inverse of :meth:`to_json`; a state written by an unknown format version reads as fresh."""
        if data.get("format") not in READABLE_FORMATS:
            return cls()
        prov = data.get("provisioning")
        last = data.get("last_action")
        history = data.get("history") or {}
        return cls(
            started_at=_opt_float(data.get("started_at")),
            last_point_at=_opt_float(data.get("last_point_at")),
            recommendations=tuple(
                (float(ts), int(stable), int(burst)) for ts, stable, burst in data.get("recommendations", [])
            ),
            panic_since=_opt_float(data.get("panic_since")),
            last_panic_at=_opt_float(data.get("last_panic_at")),
            provisioning=None
            if prov is None
            else Provisioning(
                replicas=int(prov["replicas"]), since=float(prov["since"]), ready_at=_opt_float(prov.get("ready_at"))
            ),
            last_action=None
            if last is None
            else LastAction(
                at=float(last["at"]),
                previous=int(last["previous"]),
                desired=int(last["desired"]),
                reason=str(last["reason"]),
            ),
            history=History(_opt_float(history.get("start")), tuple(_opt_float(p) for p in history.get("peaks", []))),
            service_seconds=_opt_float(data.get("service_seconds")),
            provisioning_seconds=_opt_float(data.get("provisioning_seconds")),
            ready_log=tuple((float(at), int(ready)) for at, ready in data.get("ready_log", [])),
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _compact(value: float | None) -> float | None:
    """Three decimals are plenty for a load, and keep a day of minutes within a few kilobytes."""
    return None if value is None else round(value, 3)
