"""An async predict: runs on the event loop, no thread."""

import asyncio


class Predictor:
    def __init__(self, config, model_dir):
        pass

    async def predict(self, payload):
        await asyncio.sleep(0)
        return {"async": payload}
