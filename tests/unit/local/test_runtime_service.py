"""InvokeEndpoint's retry and error rules over a mock transport: what is retried, what is final."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import httpx

from axon_local.dataplane import InvokeRequest, InvokeResponse, Router, RuntimeService, StatsBook
from axon_local.dataplane.router import Replica, ReplicaState
from axon_local.sagemaker import FleetShare


class _Process:
    def __init__(self, port: int, exit_code: int | None = None) -> None:
        self.port, self._exit_code = port, exit_code

    def exit_code(self) -> int | None:
        return self._exit_code


def _service(
    handler: Callable[[httpx.Request], httpx.Response], *replicas: Replica, window: float = 0.2
) -> tuple[RuntimeService, Router]:
    router = Router(StatsBook(), random.Random(1))
    router.add_replicas("f", "v", list(replicas))
    router.set_routes("axon-iris", [FleetShare("f", 1.0, {"v": 1.0})])
    service = RuntimeService(router, retry_window_seconds=window, transport=httpx.MockTransport(handler))
    return service, router


def _invoke(service: RuntimeService, body: bytes = b"{}") -> InvokeResponse:
    async def run() -> InvokeResponse:
        try:
            return await service.invoke(InvokeRequest("axon-iris", body, "application/json", "application/json"))
        finally:
            await service.aclose()

    return asyncio.run(run())


def _replica(port: int, exit_code: int | None = None) -> Replica:
    return Replica("axon-iris", "v", _Process(port, exit_code))  # type: ignore[arg-type]


def test_a_refused_connection_is_retried_on_another_replica_and_a_dead_one_is_dropped() -> None:
    dead, alive = _replica(1, exit_code=-9), _replica(2)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 1:
            raise httpx.ConnectError("refused", request=request)
        assert request.headers["accept"] == "application/json"
        return httpx.Response(200, json={"ok": True}, headers={"X-Amzn-SageMaker-Custom-Attributes": "c=1"})

    service, router = _service(handler, dead, alive)
    answers = [_invoke(service) for _ in range(6)]
    assert {a.status for a in answers} == {200}
    assert answers[0].headers["x-Amzn-Invoked-Production-Variant"] == "v"
    assert answers[0].headers["X-Amzn-SageMaker-Custom-Attributes"] == "c=1"
    assert dead.state is ReplicaState.FAILED and dead.outstanding == 0 and alive.outstanding == 0
    [row] = router.stats.snapshot()
    assert (row.requests, row.count_2xx, row.in_flight) == (6, 6, 0)  # the refused tries are not counted


def test_no_reachable_replica_within_the_window_is_service_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    service, _ = _service(handler, _replica(1), window=0.1)
    answer = _invoke(service)
    assert (answer.status, answer.headers["x-amzn-ErrorType"]) == (503, "ServiceUnavailable")


def test_a_connection_broken_by_a_stopping_replica_is_retried() -> None:
    stopping, other = _replica(1), _replica(2)
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.port or 0)
        if request.url.port == 1:
            stopping.state = ReplicaState.DRAINING  # the drain began while this request was on the wire
            raise httpx.RemoteProtocolError("closed", request=request)
        return httpx.Response(200, content=b"ok")

    service, _ = _service(handler, stopping, other)
    while 1 not in calls:  # until the stopping replica is the one picked first
        stopping.state = ReplicaState.READY
        assert _invoke(service).status == 200


def test_a_model_that_breaks_the_connection_while_ready_is_a_final_model_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    service, router = _service(handler, _replica(1, exit_code=1), _replica(2))
    answer = _invoke(service)
    body = json.loads(answer.body)
    assert (answer.status, answer.headers["x-amzn-ErrorType"], body["OriginalStatusCode"]) == (424, "ModelError", 0)
    assert router.stats.snapshot()[0].count_5xx == 1


def test_a_model_timeout_is_a_model_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    service, _ = _service(handler, _replica(1))
    answer = _invoke(service)
    assert answer.status == 424 and "timed out" in json.loads(answer.body)["OriginalMessage"]


def test_a_server_error_from_the_model_keeps_its_status_and_message() -> None:
    service, _ = _service(lambda request: httpx.Response(503, text="overloaded"), _replica(1))
    body = json.loads(_invoke(service).body)
    assert (body["OriginalStatusCode"], body["OriginalMessage"], body["ErrorCode"]) == (
        503,
        "overloaded",
        "SERVER_ERROR_FROM_MODEL",
    )
    assert body["message"].startswith('Received server error (503) from primary with message "overloaded"')


def test_payloads_over_six_megabytes_are_refused() -> None:
    service, _ = _service(lambda request: httpx.Response(200), _replica(1))
    answer = _invoke(service, b"x" * (6 * 1024 * 1024 + 1))
    assert (answer.status, answer.headers["x-amzn-ErrorType"]) == (400, "ValidationError")


def test_an_async_request_carries_its_own_size_bound_and_model_timeout() -> None:
    """The async queue's requests may be up to 1 GB and wait InvocationTimeoutSeconds for the model (not 6 MB and
    60 s); the timeout reaches the replica's HTTP call."""
    seen: list[tuple[int, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((len(request.content), request.extensions["timeout"]["read"]))
        return httpx.Response(200, json={"ok": True})

    service, _ = _service(handler, _replica(1))
    body = b"x" * (7 * 1024 * 1024)
    request = InvokeRequest("axon-iris", body, "application/json", max_body_bytes=1024**3, timeout_seconds=900)

    async def run() -> InvokeResponse:
        try:
            return await service.invoke(request)
        finally:
            await service.aclose()

    assert asyncio.run(run()).status == 200
    assert seen == [(len(body), 900)]
    service, _ = _service(handler, _replica(1))
    assert _invoke(service).status == 200 and seen[-1][1] == 60.0  # InvokeEndpoint keeps SageMaker's 60 s
