"""The trivial predictor every server in scenario (a) serves: doubles ``x``."""

from typing import Any


class Predictor:
    def __init__(self, config: dict[str, Any], model_dir: str) -> None:
        pass

    def predict(self, payload: dict[str, int]) -> dict[str, int]:
        return {"y": payload["x"] * 2}
