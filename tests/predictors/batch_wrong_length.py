"""predict_batch returns fewer answers than requests: every request in the batch fails, clearly."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        return payload

    def predict_batch(self, payloads):
        return payloads[:-1]
