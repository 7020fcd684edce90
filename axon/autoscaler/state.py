"""What the autoscaler remembers about one API between two Lambda runs (persisted, never kept in memory)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Bump when the JSON shape changes; an unknown version is read as a fresh state (the safe default).
STATE_FORMAT = 1


@dataclass(frozen=True)
class Provisioning:
    """A scale-out that the platform has accepted and whose replicas are not all serving yet."""

    replicas: int  # the count requested
    since: float  # epoch seconds of the request


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
            else {"replicas": self.provisioning.replicas, "since": self.provisioning.since},
            "last_action": None
            if self.last_action is None
            else {
                "at": self.last_action.at,
                "previous": self.last_action.previous,
                "desired": self.last_action.desired,
                "reason": self.last_action.reason,
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> ScalerState:
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScalerState:
        """Inverse of :meth:`to_json`; a state written by an unknown format version reads as fresh."""
        if data.get("format") != STATE_FORMAT:
            return cls()
        prov = data.get("provisioning")
        last = data.get("last_action")
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
            else Provisioning(replicas=int(prov["replicas"]), since=float(prov["since"])),
            last_action=None
            if last is None
            else LastAction(
                at=float(last["at"]),
                previous=int(last["previous"]),
                desired=int(last["desired"]),
                reason=str(last["reason"]),
            ),
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
