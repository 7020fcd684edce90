"""Model load fails: /ping must never turn healthy."""


class Predictor:
    def __init__(self, config, model_dir):
        raise RuntimeError("weights file is corrupt")

    def predict(self, payload):
        return payload
