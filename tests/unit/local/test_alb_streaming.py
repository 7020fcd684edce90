"""The local ALB passes a target's body through as it arrives (a streaming predictor's chunks reach the client one
by one), cuts the client's body when the target breaks off mid-body, and keeps the replica reserved until the end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from axon_local.dataplane.router import Replica, Router
from axon_local.ecs.alb import LocalAlb
from axon_local.sagemaker import FleetShare
from tests.unit.local.test_ecs_routes import RULES, _table


class _Process:
    port = 1

    def exit_code(self) -> int | None:
        return None


class _Body(httpx.AsyncByteStream):
    def __init__(self, replica: Replica, fail: bool) -> None:
        self.replica, self.fail = replica, fail
        self.outstanding: list[int] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for token in (b"t0 ", b"t1 "):
            self.outstanding.append(self.replica.outstanding)
            yield token
            await asyncio.sleep(0.05)
        if self.fail:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def _exchange(fail: bool) -> tuple[list[dict[str, Any]], _Body, Replica, Router]:
    table, production, _ = _table(RULES)
    replica = Replica("axon-iris", "v", _Process())  # type: ignore[arg-type]
    production.add_replicas("f", "v", [replica])
    production.set_routes("axon-iris", [FleetShare("f", 1.0, {"v": 1.0})])
    body = _Body(replica, fail)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/invocations"  # the rule's rewrite
        return httpx.Response(200, headers={"content-type": "text/plain", "transfer-encoding": "chunked"}, stream=body)

    alb = LocalAlb(lambda: table, lambda: table, port=4566, transport=httpx.MockTransport(handler))
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await asyncio.Event().wait()  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/apis/iris/invocations", "headers": [], "query_string": b""}

    async def run() -> None:
        try:
            await alb(scope, receive, send)
        finally:
            await alb.aclose()

    asyncio.run(run())
    return sent, body, replica, production


def test_a_chunked_answer_is_passed_through_chunk_by_chunk() -> None:
    sent, body, replica, _ = _exchange(fail=False)
    start, *bodies = sent
    assert start["status"] == 200 and b"content-length" not in dict(start["headers"])
    assert [m["body"] for m in bodies if m["body"]] == [b"t0 ", b"t1 "]
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert body.outstanding == [1, 1] and replica.outstanding == 0  # reserved while the body streamed


def test_a_target_breaking_off_mid_body_cuts_the_clients_body() -> None:
    sent, _, replica, router = _exchange(fail=True)
    assert [m["body"] for m in sent[1:]] == [b"t0 ", b"t1 "]
    assert all(m.get("more_body") for m in sent[1:])  # never completed: uvicorn closes the connection
    assert replica.outstanding == 0
    [row] = router.stats.snapshot()
    assert (row.requests, row.count_5xx) == (1, 1)  # counted as the ALB's 502, not as the target's 200
