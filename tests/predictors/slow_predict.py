"""Sleeps ``config["seconds"]`` (or ``payload["seconds"]``) per call: queueing, timeouts and drain."""

import time


class Predictor:
    def __init__(self, config, model_dir):
        self.seconds = float(config.get("seconds", 0.5))

    def predict(self, payload):
        seconds = payload.get("seconds", self.seconds) if isinstance(payload, dict) else self.seconds
        time.sleep(seconds)
        return {"slept": seconds, "id": payload.get("id") if isinstance(payload, dict) else None}
