"""A tiny model server with controllable behaviour, read from ``behaviour.json`` in the model dir.

    python fake_model_server.py --model-dir DIR --host H --port P

``behaviour.json``: ``{"version": "v1", "ping": "ok" | "fail" | "exit", "delay": seconds}``. A request body
``{"status": 400}`` answers with that status; ``{"crash": true}`` kills the server mid-request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    behaviour = json.loads((Path(args.model_dir) / "behaviour.json").read_text())
    if behaviour.get("ping") == "exit":
        print("exiting on purpose", flush=True)
        sys.exit(3)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            ok = self.path == "/ping" and behaviour.get("ping", "ok") == "ok"
            self._send(200 if ok else 503, {"ping": ok})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            time.sleep(float(behaviour.get("delay", 0)))
            if payload.get("crash"):
                os._exit(1)
            status = int(payload.get("status", 200))
            self._send(
                status,
                {
                    "version": behaviour.get("version"),
                    "pid": os.getpid(),
                    "variant": os.environ.get("AXON_VARIANT"),
                    "api": os.environ.get("AXON_API"),
                    "content_type": self.headers.get("Content-Type"),
                    "payload": payload,
                },
            )

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
