"""The route table knows each endpoint's kind: the local SageMaker marks an async config's variants when it resolves
the config, the fleet keeps the mark per fleet, and the runtime refuses InvokeEndpoint on an async endpoint with a
lookup, while its ``invoke`` (the async queue's path) still serves it. No processes: fleets have no instances."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from axon_local.dataplane import Router, StatsBook
from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.fleet import LocalFleet
from axon_local.dataplane.router import Replica
from axon_local.dataplane.runtime import InvokeRequest, RuntimeService
from axon_local.sagemaker import FleetShare, VariantSpec
from tests.unit.local.conftest import Local


class _Process:
    port = 9

    def exit_code(self) -> int | None:
        return None


def _fleet(tmp_path: Path) -> tuple[LocalFleet, Router]:
    router = Router(StatsBook())
    return LocalFleet(router, BundleCache(None, tmp_path), lambda _image: Path("python"), tmp_path), router


def _spec(asynchronous: bool) -> list[VariantSpec]:
    return [VariantSpec("AllTraffic", "image", None, instance_count=0, asynchronous=asynchronous)]


def test_the_kind_is_set_with_the_route_from_the_fleets_variants(tmp_path: Path) -> None:
    fleet, router = _fleet(tmp_path)
    fleet.launch("axon-queued", "async-v1#1", _spec(True))
    fleet.launch("axon-demo", "rt-v1#2", _spec(False))
    assert not router.is_asynchronous("axon-queued")  # not routed yet
    fleet.route("axon-queued", [FleetShare("async-v1#1", 1.0, {"AllTraffic": 1.0})])
    fleet.route("axon-demo", [FleetShare("rt-v1#2", 1.0, {"AllTraffic": 1.0})])
    assert router.is_asynchronous("axon-queued") and not router.is_asynchronous("axon-demo")

    fleet.route("axon-queued", [])  # DeleteEndpoint stops routing: the kind goes with the route
    assert not router.is_asynchronous("axon-queued")
    fleet.terminate("async-v1#1")
    fleet.launch("axon-queued", "rt-v2#3", _spec(False))  # the name reused for a real-time config
    fleet.route("axon-queued", [FleetShare("rt-v2#3", 1.0, {"AllTraffic": 1.0})])
    assert not router.is_asynchronous("axon-queued")


def test_an_endpoint_is_async_while_an_async_fleet_takes_its_traffic(tmp_path: Path) -> None:
    fleet, router = _fleet(tmp_path)
    fleet.launch("axon-x", "rt-v1#1", _spec(False))
    fleet.launch("axon-x", "async-v2#2", _spec(True))
    fleet.route("axon-x", [FleetShare("rt-v1#1", 0.9, {"a": 1.0}), FleetShare("async-v2#2", 0.1, {"a": 1.0})])
    assert router.is_asynchronous("axon-x")
    fleet.route("axon-x", [FleetShare("rt-v1#1", 1.0, {"a": 1.0})])  # rolled back
    assert not router.is_asynchronous("axon-x")


def test_the_local_sagemaker_marks_the_variants_of_an_async_config(local: Local) -> None:
    local.model("m")
    local.config("rt", "m")
    local.api(
        "CreateEndpointConfig",
        EndpointConfigName="queued",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://axon-models/results/q/"}},
    )
    local.api("CreateEndpoint", EndpointName="axon-rt", EndpointConfigName="rt")
    local.api("CreateEndpoint", EndpointName="axon-q", EndpointConfigName="queued")
    assert [spec.asynchronous for spec in local.fleet.specs["rt"]] == [False]
    assert [spec.asynchronous for spec in local.fleet.specs["queued"]] == [True]


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
