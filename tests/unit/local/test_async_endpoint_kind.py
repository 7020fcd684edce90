"""The route table knows each endpoint's kind: the fleet asks the endpoint config once, at launch, and the runtime
refuses InvokeEndpoint on an async endpoint with a lookup, while its ``invoke`` (the async queue's path) still
serves it. No processes: fleets are launched with no variants."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from axon_local.dataplane import Router, StatsBook
from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.fleet import LocalFleet, async_config_lookup
from axon_local.dataplane.router import Replica
from axon_local.dataplane.runtime import InvokeRequest, RuntimeService
from axon_local.sagemaker import FleetShare
from axon_local.sagemaker.errors import SageMakerApiError


class _Process:
    port = 9

    def exit_code(self) -> int | None:
        return None


def _fleet(tmp_path: Path, asked: list[str]) -> tuple[LocalFleet, Router]:
    router = Router(StatsBook())

    def is_async_config(config: str) -> bool:
        asked.append(config)
        return config.startswith("async")

    fleet = LocalFleet(
        router, BundleCache(None, tmp_path), lambda _image: Path("python"), tmp_path, is_async_config=is_async_config
    )
    return fleet, router


def test_the_kind_is_set_with_the_route_from_the_config_asked_once_per_fleet(tmp_path: Path) -> None:
    asked: list[str] = []
    fleet, router = _fleet(tmp_path, asked)
    fleet.launch("axon-queued", "async-v1#1", [])
    fleet.launch("axon-demo", "rt-v1#2", [])
    assert not router.is_asynchronous("axon-queued")  # not routed yet
    fleet.route("axon-queued", [FleetShare("async-v1#1", 1.0, {"AllTraffic": 1.0})])
    fleet.route("axon-demo", [FleetShare("rt-v1#2", 1.0, {"AllTraffic": 1.0})])
    for _ in range(3):
        assert router.is_asynchronous("axon-queued")
        assert not router.is_asynchronous("axon-demo")
    assert asked == ["async-v1", "rt-v1"]  # at launch only: never per request or per route

    fleet.route("axon-queued", [])  # DeleteEndpoint stops routing: the kind goes with the route
    assert not router.is_asynchronous("axon-queued")
    fleet.terminate("async-v1#1")
    fleet.launch("axon-queued", "rt-v2#3", [])
    fleet.route("axon-queued", [FleetShare("rt-v2#3", 1.0, {"AllTraffic": 1.0})])
    assert not router.is_asynchronous("axon-queued")


def test_an_endpoint_is_async_while_an_async_fleet_takes_its_traffic(tmp_path: Path) -> None:
    fleet, router = _fleet(tmp_path, [])
    fleet.launch("axon-x", "rt-v1#1", [])
    fleet.launch("axon-x", "async-v2#2", [])
    fleet.route("axon-x", [FleetShare("rt-v1#1", 0.9, {"a": 1.0}), FleetShare("async-v2#2", 0.1, {"a": 1.0})])
    assert router.is_asynchronous("axon-x")
    fleet.route("axon-x", [FleetShare("rt-v1#1", 1.0, {"a": 1.0})])  # rolled back
    assert not router.is_asynchronous("axon-x")


def test_the_lookup_reads_the_local_sagemaker_and_a_missing_config_is_real_time() -> None:
    configs: dict[str, dict[str, Any]] = {"async-v1": {"AsyncInferenceConfig": {"OutputConfig": {}}}, "rt-v1": {}}

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert operation == "DescribeEndpointConfig"
        if params["EndpointConfigName"] not in configs:
            raise SageMakerApiError("ValidationException", "Could not find endpoint configuration.")
        return configs[params["EndpointConfigName"]]

    lookup = async_config_lookup(call)
    assert (lookup("async-v1"), lookup("rt-v1"), lookup("gone")) == (True, False, False)


def test_the_runtime_refuses_only_the_public_path(tmp_path: Path) -> None:
    """``asynchronous_refusal`` is the front door's InvokeEndpoint check; ``invoke`` (the queue) still answers."""
    router = Router(StatsBook())
    router.add_replicas("async-v1#1", "AllTraffic", [Replica("axon-queued", "AllTraffic", _Process())])  # type: ignore[arg-type]
    router.set_routes("axon-queued", [FleetShare("async-v1#1", 1.0, {"AllTraffic": 1.0})], asynchronous=True)
    answer_body = json.dumps({"ok": True}).encode()
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=answer_body))

    async def run() -> tuple[Any, Any, Any]:
        runtime = RuntimeService(router, transport=transport)
        try:
            refused = runtime.asynchronous_refusal("axon-queued")
            other = runtime.asynchronous_refusal("axon-demo")
            served = await runtime.invoke(InvokeRequest("axon-queued", b"{}", "application/json"))
        finally:
            await runtime.aclose()
        return refused, other, served

    refused, other, served = asyncio.run(run())
    assert refused is not None and (refused.status, refused.headers["x-amzn-ErrorType"]) == (400, "ValidationError")
    assert json.loads(refused.body)["message"] == (
        "Endpoint axon-queued is configured for asynchronous inference; use InvokeEndpointAsync."
    )
    assert other is None
    assert (served.status, served.body) == (200, answer_body)
