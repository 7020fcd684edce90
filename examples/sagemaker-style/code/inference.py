"""SageMaker-style handlers: a word-count "model" whose vocabulary ships in the bundle."""

import json
from pathlib import Path


def model_fn(model_dir: str) -> set[str]:
    return set((Path(model_dir) / "vocabulary.txt").read_text().split())


def input_fn(request_body: bytes | str, content_type: str) -> str:
    text = request_body.decode() if isinstance(request_body, bytes) else request_body
    if content_type == "application/json":
        return str(json.loads(text)["text"])
    return text


def predict_fn(data: str, model: set[str]) -> dict:
    words = data.lower().split()
    return {"words": len(words), "known": sum(word in model for word in words)}


def output_fn(prediction: dict, accept: str) -> tuple[str, str]:
    return json.dumps(prediction), "application/json"
