"""Returns the config and model dir it was built with: axon.yaml's predictor.config passes through."""


class Predictor:
    def __init__(self, config, model_dir):
        self.seen = {"config": config, "model_dir": model_dir}

    def predict(self, payload):
        return self.seen
