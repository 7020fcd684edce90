"""Small ASGI and HTTP-client helpers shared by the local front door, the local ALB and the SageMaker runtime."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx


async def read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Any, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a whole response; ``content-length`` is added here."""
    raw = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def header_pairs(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


class ReplicaClient:
    """One pooled ``httpx.AsyncClient`` to the replicas, made on first use (inside the server's event loop)."""

    def __init__(self, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeout = timeout_seconds
        self._transport = transport  # tests inject one; None: real sockets
        self._client: httpx.AsyncClient | None = None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self._client = httpx.AsyncClient(
                limits=limits, timeout=httpx.Timeout(self._timeout), transport=self._transport
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
