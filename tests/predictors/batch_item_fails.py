"""predict_batch fails one item by returning an Exception in its place: only that request fails."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads):
        return [ValueError(f"item {p['id']} is bad") if p.get("bad") else {"id": p["id"]} for p in payloads]
