"""An async generator predict: streams ``n`` tokens on the event loop, ``delay`` s apart; ``fail_after`` raises."""

import asyncio


class Predictor:
    def __init__(self, config, model_dir):
        pass

    async def predict(self, payload):
        for index in range(payload.get("n", 3)):
            if index == payload.get("fail_after"):
                raise ValueError(f"async model broke after {index} tokens")
            if index:
                await asyncio.sleep(payload.get("delay", 0))
            yield {"token": index}
