"""LitServe serving the same trivial predictor, with its defaults (one inference worker on CPU)."""

import sys
from typing import Any

import litserve as ls

LitAPI: Any = ls.LitAPI  # untyped third-party base class


class TrivialAPI(LitAPI):  # type: ignore[misc]
    def setup(self, device: str) -> None:
        pass

    def decode_request(self, request: dict[str, int]) -> dict[str, int]:
        return request

    def predict(self, x: dict[str, int]) -> dict[str, int]:
        return {"y": x["x"] * 2}

    def encode_response(self, output: dict[str, int]) -> dict[str, int]:
        return output


if __name__ == "__main__":
    server = ls.LitServer(TrivialAPI(), accelerator="cpu", workers_per_device=1, api_path="/invocations")
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False, log_level="warning")
