"""Returns its payload unchanged: the container contract's happy path for every content type."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        return payload
