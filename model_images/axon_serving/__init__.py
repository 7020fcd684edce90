"""axon's serving runtime: the HTTP server, scheduler and predictor adapters inside every model image."""

from axon_serving.devices import device
from axon_serving.predictor import Predictor

__all__ = ["Predictor", "device"]
