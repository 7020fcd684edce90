"""predict is a plain function that returns a generator object: not streamed (yield must be in predict itself)."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        return (token for token in ("a", "b"))
