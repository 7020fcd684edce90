"""A fake token generator: ``tokens`` tokens, ``delay_ms`` of "model time" before each.

``stream: true`` yields each token as it is made (the answer is streamed); otherwise the same tokens, made at the
same pace, are returned joined in one body: the two answers carry identical bytes.
"""

import time
from collections.abc import Iterator
from typing import Any


class Predictor:
    def __init__(self, config: dict[str, Any], model_dir: str) -> None:
        self.tokens = int(config.get("tokens", 50))
        self.delay = float(config.get("delay_ms", 20)) / 1000
        if config.get("stream"):
            self.predict = self.generate  # type: ignore[assignment,method-assign]  # a generator: streamed

    def generate(self, payload: Any) -> Iterator[str]:
        for index in range(self.tokens):
            if self.delay:
                time.sleep(self.delay)
            yield f"tok{index} "

    def predict(self, payload: Any) -> bytes:
        return "".join(self.generate(payload)).encode()  # bytes: sent as they are, like the streamed tokens
