"""A PyTorch classifier on the replica's GPU, batched server-side.

With `serving.max_batch_size > 1` axon-serve collects waiting requests and calls `predict_batch` once per batch:
one forward pass on the GPU for all of them. `axon_serving.device()` is `cuda:0` in a GPU worker (each worker sees
one GPU) and `cpu` without one, so the same bundle also runs on a laptop.
"""

from pathlib import Path

import axon_serving
import torch
from network import Classifier  # network.py ships beside this file; axon-serve puts its folder on sys.path


class Predictor:
    def __init__(self, config: dict, model_dir: str) -> None:
        weights = Path(model_dir) / "model" / "weights.pt"
        if not weights.is_file():
            raise FileNotFoundError(f"{weights} is missing: run `python train.py` before packing the bundle")
        self.device = torch.device(axon_serving.device())
        self.model = Classifier()
        self.model.load_state_dict(torch.load(weights, map_location=self.device, weights_only=True))
        self.model.to(self.device).eval()
        self.labels = config["labels"]

    @torch.inference_mode()
    def _classify(self, rows: list[list[float]]) -> list[str]:
        scores = self.model(torch.tensor(rows, dtype=torch.float32, device=self.device))
        return [self.labels[i] for i in scores.argmax(dim=1).tolist()]

    def predict(self, payload: dict) -> dict:
        return {"predictions": self._classify(payload["instances"])}

    def predict_batch(self, payloads: list[dict]) -> list[dict]:
        sizes = [len(p["instances"]) for p in payloads]
        labels = self._classify([row for p in payloads for row in p["instances"]])
        out, start = [], 0
        for size in sizes:
            out.append({"predictions": labels[start : start + size]})
            start += size
        return out
