"""A fixed cost per call on one "device": calls serialise on a lock, batched or not (scenario b)."""

import threading
import time
from typing import Any

DEVICE = threading.Lock()


class Predictor:
    def __init__(self, config: dict[str, Any], model_dir: str) -> None:
        self.cost = float(config.get("cost_seconds", 0.01))

    def predict(self, payload: dict[str, int]) -> dict[str, int]:
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads: list[dict[str, int]]) -> list[dict[str, int]]:
        with DEVICE:
            time.sleep(self.cost)
        return [{"y": payload["x"] * 2} for payload in payloads]
