"""Text classification with a Hugging Face model loaded from the bundle's model/ folder (no network at start).

Payload: `{"inputs": "a sentence"}` or `{"inputs": ["one", "two"]}`; answer: one `{"label", "score"}` per input.
With `serving.max_batch_size > 1`, `predict_batch` runs the sentences of every waiting request as one padded batch.
"""

from pathlib import Path

import axon_serving
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class Predictor:
    def __init__(self, config: dict, model_dir: str) -> None:
        weights = Path(model_dir) / "model"
        if not (weights / "config.json").is_file():
            raise FileNotFoundError(f"{weights} has no config.json: run `python download.py` before packing")
        self.device = torch.device(axon_serving.device())
        self.tokenizer = AutoTokenizer.from_pretrained(weights, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(weights, local_files_only=True)
        self.model.to(self.device).eval()
        self.max_length = int(config.get("max_length", 256))

    @torch.inference_mode()
    def _classify(self, texts: list[str]) -> list[dict]:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        probabilities = self.model(**batch).logits.softmax(dim=-1)
        scores, indices = probabilities.max(dim=-1)
        labels = self.model.config.id2label
        return [{"label": labels[i], "score": s} for i, s in zip(indices.tolist(), scores.tolist(), strict=True)]

    @staticmethod
    def _texts(payload: dict) -> list[str]:
        inputs = payload["inputs"]
        return [inputs] if isinstance(inputs, str) else list(inputs)

    def predict(self, payload: dict) -> list[dict]:
        return self._classify(self._texts(payload))

    def predict_batch(self, payloads: list[dict]) -> list[list[dict]]:
        per_request = [self._texts(p) for p in payloads]
        results = self._classify([text for texts in per_request for text in texts])
        out, start = [], 0
        for texts in per_request:
            out.append(results[start : start + len(texts)])
            start += len(texts)
        return out
