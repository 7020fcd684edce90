"""scikit-learn predictor: load the pickled model once, predict class names."""

import pickle
from pathlib import Path

LABELS = ["setosa", "versicolor", "virginica"]


class Predictor:
    def __init__(self, config: dict, model_dir: str) -> None:
        self.model = pickle.loads((Path(model_dir) / "model.pkl").read_bytes())  # noqa: S301 - the user's own model

    def predict(self, payload: dict) -> dict:
        return {"predictions": [LABELS[i] for i in self.model.predict(payload["instances"])]}
