"""Defines no class Predictor."""


class Model:
    def predict(self, payload):
        return payload
