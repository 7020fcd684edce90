"""predict returns something no content type can carry."""


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        return object()
