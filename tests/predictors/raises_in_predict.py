"""predict raises on request: a 500 with a JSON error, and the server keeps serving."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        if payload.get("fail"):
            raise ValueError("cannot predict on this input")
        return {"ok": True}
