"""predict_batch tags each answer with its batch size, so tests see both grouping and fan-out."""

import time


class Predictor:
    def __init__(self, config, model_dir):
        self.seconds = float(config.get("seconds", 0))
        self.sizes = []

    def predict(self, payload):
        return {"id": payload["id"], "batch": 1}

    def predict_batch(self, payloads):
        self.sizes.append(len(payloads))
        time.sleep(self.seconds)
        return [{"id": payload["id"], "batch": len(payloads)} for payload in payloads]
