"""``kpa``: Knative's pod autoscaler with its defaults (pkg/autoscaler/scaling/autoscaler.go), at its 2-s tick.

Native metrics: the per-second in-flight samples with no publication lag (Knative scrapes pods every second).
Stable window 60 s, panic window 6 s (10%), panic threshold 200%, max scale-up rate 1000, max scale-down
rate 2; in panic the count never decreases, and panic ends after a stable window with no crossing.
"""

from __future__ import annotations

import math

from bench.autoscaler.engine import View


class Kpa:
    name = "kpa"
    tick_seconds = 2

    def __init__(self, target: float, stable_window: int = 60, panic_window: int = 6, panic_threshold: float = 2.0):
        self.target = target
        self.stable_window, self.panic_window, self.threshold = stable_window, panic_window, panic_threshold
        self.max_up_rate, self.max_down_rate = 1000.0, 2.0
        self.panic_time: int | None = None
        self.max_panic_pods = 0

    def step(self, view: View) -> int:
        samples = view.samples
        if not samples:
            return view.requested
        stable = sum(samples[-self.stable_window :]) / len(samples[-self.stable_window :])
        panic = sum(samples[-self.panic_window :]) / len(samples[-self.panic_window :])
        ready = max(1, view.ready)
        max_up, max_down = math.ceil(self.max_up_rate * ready), math.floor(ready / self.max_down_rate)
        dspc = min(max(math.ceil(round(stable / self.target, 9)), max_down), max_up)
        dppc = min(max(math.ceil(round(panic / self.target, 9)), max_down), max_up)
        over = panic / self.target / ready >= self.threshold
        if self.panic_time is not None and view.now - self.panic_time >= self.stable_window and not over:
            self.panic_time, self.max_panic_pods = None, 0
        elif over:
            if self.panic_time is None:
                self.max_panic_pods = ready
            self.panic_time = view.now
        if self.panic_time is None:
            return dspc
        self.max_panic_pods = max(self.max_panic_pods, dppc)
        return self.max_panic_pods
