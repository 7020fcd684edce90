"""Request arrivals and service times: replayed from a trace CSV or drawn for a synthetic load shape."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

# Service time from tokens, an LLM on one GPU: 100 ms overhead, prefill at 10,000 tokens/s, decode at
# 50 tokens/s. The Azure code trace (median 1,469 in / 13 out) then takes ~0.5 s, conv (1,020 / 129) ~2.8 s.
BASE_SECONDS = 0.1
PREFILL_SECONDS_PER_TOKEN = 1e-4
DECODE_SECONDS_PER_TOKEN = 0.02
# Synthetic shapes: lognormal service time with a 1-second mean.
SYNTHETIC_MEAN_SERVICE = 1.0
SYNTHETIC_SIGMA = 0.5


@dataclass(frozen=True)
class Workload:
    """Arrival times (seconds from 0, sorted) and the service time of each request."""

    name: str
    arrival: np.ndarray
    service: np.ndarray

    @property
    def duration(self) -> float:
        return float(self.arrival[-1]) if len(self.arrival) else 0.0


def load_trace(path: Path, stretch: float = 1.0) -> Workload:
    """A trace CSV (``TIMESTAMP`` column; ``ContextTokens``/``GeneratedTokens`` optional) replayed at 1/stretch.

    Without token columns every request takes ``SYNTHETIC_MEAN_SERVICE`` seconds.
    """
    stamps: list[float] = []
    service: list[float] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            stamps.append(datetime.fromisoformat(row["TIMESTAMP"]).timestamp())
            ctx, gen = row.get("ContextTokens"), row.get("GeneratedTokens")
            if ctx and gen:
                prefill, decode = PREFILL_SECONDS_PER_TOKEN * int(ctx), DECODE_SECONDS_PER_TOKEN * int(gen)
                service.append(BASE_SECONDS + prefill + decode)
            else:
                service.append(SYNTHETIC_MEAN_SERVICE)
    arrival = np.asarray(stamps, dtype=np.float64)
    order = np.argsort(arrival, kind="stable")
    arrival = (arrival[order] - arrival[order][0]) * stretch
    name = path.stem if stretch == 1 else f"{path.stem} x{stretch:g}"
    return Workload(name, arrival, np.asarray(service, dtype=np.float64)[order])


def from_rate(name: str, rate: Callable[[np.ndarray], np.ndarray], seconds: int, seed: int = 1) -> Workload:
    """Poisson arrivals with a per-second rate ``rate(t)`` (requests/s) and lognormal service times."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds, dtype=np.float64)
    counts = rng.poisson(np.maximum(rate(t), 0.0))
    arrival = np.sort(np.repeat(t, counts) + rng.random(int(counts.sum())))
    mu = np.log(SYNTHETIC_MEAN_SERVICE) - SYNTHETIC_SIGMA**2 / 2
    service = rng.lognormal(mu, SYNTHETIC_SIGMA, size=len(arrival))
    return Workload(name, arrival, service)


def _step(t: np.ndarray) -> np.ndarray:
    return np.where(t < 1200, 4.0, 20.0)  # x5 at minute 20, held 40 minutes


def _spike(t: np.ndarray) -> np.ndarray:
    return np.where((t >= 1200) & (t < 1380), 40.0, 4.0)  # x10 for 3 minutes


def _ramp(t: np.ndarray) -> np.ndarray:
    up = np.clip((t - 600) / 1800, 0, 1)  # 2 -> 20 req/s over 30 minutes, 20 minutes flat, 30 down
    down = np.clip((t - 3600) / 1800, 0, 1)
    return 2.0 + 18.0 * (up - down)


def _daily(t: np.ndarray) -> np.ndarray:
    return 10.0 - 6.0 * np.cos(2 * np.pi * t / 14400)  # a day in 4 hours, 4 -> 16 req/s (x4)


def _on_off(t: np.ndarray) -> np.ndarray:
    return np.where((t % 1500) < 300, 12.0, 0.05)  # 5-minute bursts every 25 minutes


SYNTHETIC: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "step": (_step, 3600),
    "spike": (_spike, 3600),
    "ramp": (_ramp, 5400),
    "daily": (_daily, 14400),
    "on-off": (_on_off, 7500),
}


def synthetic(shape: str, stretch: float = 1.0, seed: int = 1) -> Workload:
    """One of :data:`SYNTHETIC`'s shapes, optionally replayed at 1/stretch (rate divided, time multiplied)."""
    rate, seconds = SYNTHETIC[shape]
    workload = from_rate(f"synthetic-{shape}", lambda t: rate(t / stretch) / stretch, int(seconds * stretch), seed)
    return workload if stretch == 1 else Workload(f"{workload.name} x{stretch:g}", workload.arrival, workload.service)
