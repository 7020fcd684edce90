"""Iris with numpy only: softmax(x @ W + b), weights fitted offline and shipped as JSON."""

import json
from pathlib import Path

import numpy as np


class Predictor:
    def __init__(self, config: dict, model_dir: str) -> None:
        params = json.loads((Path(model_dir) / "model" / "weights.json").read_text())
        self.weights = np.asarray(params["W"], dtype=np.float64)
        self.bias = np.asarray(params["b"], dtype=np.float64)
        self.labels = config["labels"]

    def _classify(self, rows: np.ndarray) -> list[str]:
        scores = rows @ self.weights + self.bias
        return [self.labels[i] for i in scores.argmax(axis=1)]

    def predict(self, payload: dict) -> dict:
        return {"predictions": self._classify(np.asarray(payload["instances"], dtype=np.float64))}

    def predict_batch(self, payloads: list[dict]) -> list[dict]:
        sizes = [len(p["instances"]) for p in payloads]
        labels = self._classify(np.concatenate([np.asarray(p["instances"], dtype=np.float64) for p in payloads]))
        out, start = [], 0
        for size in sizes:
            out.append({"predictions": labels[start : start + size]})
            start += size
        return out
