"""GPU scenario: a small torch MLP on ``axon_serving.device()``; run only where torch sees CUDA."""

import importlib
from typing import Any

import axon_serving

torch: Any = importlib.import_module("torch")  # optional: only the GPU scenario needs it


class Predictor:
    def __init__(self, config: dict[str, Any], model_dir: str) -> None:
        self.device = torch.device(axon_serving.device())
        torch.manual_seed(0)
        layers = [torch.nn.Linear(512, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2048), torch.nn.ReLU()]
        self.model = torch.nn.Sequential(*layers, torch.nn.Linear(2048, 10)).to(self.device).eval()

    def predict(self, payload: dict[str, list[float]]) -> int:
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads: list[dict[str, list[float]]]) -> list[int]:
        with torch.inference_mode():
            inputs = torch.tensor([p["x"] for p in payloads], dtype=torch.float32, device=self.device)
            return list(self.model(inputs).argmax(dim=1).tolist())
