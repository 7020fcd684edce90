"""A sync generator predict: streams ``n`` tokens, ``delay`` s apart; ``fail_after`` raises after that many;
``as: dict`` yields objects (JSON lines); ``stall`` sleeps that long before the first token."""

import threading
import time

closed = threading.Event()  # set when the generator is closed early (tests read it in-process)


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        time.sleep(payload.get("stall", 0))
        try:
            for index in range(payload.get("n", 3)):
                if index == payload.get("fail_after"):
                    raise RuntimeError(f"model broke after {index} tokens")
                if index:
                    time.sleep(payload.get("delay", 0))
                yield {"token": index} if payload.get("as") == "dict" else f"t{index} "
        except GeneratorExit:
            closed.set()
            raise
