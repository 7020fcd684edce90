"""Echoes the request with a word count: stands in for a slow model whose callers do not wait on the line."""

import time


class Predictor:
    def __init__(self, config, model_dir):
        self.delay = float(config.get("delay_seconds", 0))

    def predict(self, payload):
        if isinstance(payload, dict) and payload.get("fail"):
            raise ValueError("asked to fail")
        time.sleep(self.delay)
        text = payload.get("text", "") if isinstance(payload, dict) else str(payload)
        return {"echo": payload, "words": len(text.split())}
