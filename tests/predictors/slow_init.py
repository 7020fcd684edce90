"""Loads slowly (``config["seconds"]``): /ping must answer 503 until __init__ returns."""

import time


class Predictor:
    def __init__(self, config, model_dir):
        time.sleep(float(config.get("seconds", 2)))

    def predict(self, payload):
        return {"loaded": True}
