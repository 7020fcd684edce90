"""Router choice, request statistics and the autoscaler's signal (in-flight, arrivals, service time), without
replica processes."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from axon_serving.metrics import InFlightWindow, ServiceMeter, Stats, render_prometheus
from botocore.validate import validate_parameters

from axon_local.dataplane import InFlightPublisher, Router, StatsBook, api_of
from axon_local.dataplane.publisher import DemandCounters, parse_demand, scrape_demand
from axon_local.dataplane.router import EndpointNotFoundError, Replica, ReplicaState, VariantNotFoundError
from axon_local.dataplane.stats import percentile
from axon_local.sagemaker import FleetShare


class _Process:
    def __init__(self, port: int) -> None:
        self.port = port


def _replica(variant: str, port: int) -> Replica:
    return Replica("axon-iris", variant, _Process(port))  # type: ignore[arg-type]


def _router() -> tuple[Router, dict[str, Replica]]:
    router = Router(StatsBook(), random.Random(7))
    replicas = {"a1": _replica("a", 1), "a2": _replica("a", 2), "b1": _replica("b", 3), "g1": _replica("a", 4)}
    router.add_replicas("blue", "a", [replicas["a1"], replicas["a2"]])
    router.add_replicas("blue", "b", [replicas["b1"]])
    router.add_replicas("green", "a", [replicas["g1"]])
    return router, replicas


def test_traffic_follows_fleet_shares_and_variant_weights() -> None:
    router, _ = _router()
    router.set_routes(
        "axon-iris", [FleetShare("blue", 0.8, {"a": 3.0, "b": 1.0}), FleetShare("green", 0.2, {"a": 1.0})]
    )
    picks: Counter[int] = Counter()
    for _ in range(4000):
        replica = router.pick("axon-iris", None, set())
        assert replica is not None
        picks[replica.process.port] += 1
        router.release(replica, 200, 0.001)
    shares = {port: count / 4000 for port, count in picks.items()}
    assert shares[1] + shares[2] == pytest.approx(0.6, abs=0.03)
    assert shares[3] == pytest.approx(0.2, abs=0.03) and shares[4] == pytest.approx(0.2, abs=0.03)


def test_least_outstanding_replica_wins_and_draining_ones_are_skipped() -> None:
    router, replicas = _router()
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0, "b": 0.0})])
    first = router.pick("axon-iris", None, set())
    second = router.pick("axon-iris", None, set())
    assert {first, second} == {replicas["a1"], replicas["a2"]}  # the busy one is not picked twice
    router.drain([replicas["a1"]], timeout=0.0)
    assert replicas["a1"].state is ReplicaState.DRAINING
    assert all(router.pick("axon-iris", None, set()) is replicas["a2"] for _ in range(5))
    assert router.pick("axon-iris", None, {id(replicas["a2"])}) is None  # weight 0 keeps b out


def test_idle_replicas_take_turns() -> None:
    router, _ = _router()
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0})])
    order = []
    for _ in range(4):
        replica = router.pick("axon-iris", None, set())
        assert replica is not None
        order.append(replica.process.port)
        router.release(replica, 200, 0.0)
    assert order in ([1, 2, 1, 2], [2, 1, 2, 1])


def test_a_target_variant_is_served_whatever_its_weight() -> None:
    router, replicas = _router()
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0, "b": 0.0})])
    assert router.pick("axon-iris", "b", set()) is replicas["b1"]
    with pytest.raises(VariantNotFoundError):
        router.pick("axon-iris", "c", set())
    with pytest.raises(EndpointNotFoundError):
        router.pick("axon-other", None, set())
    router.set_routes("axon-iris", [])
    with pytest.raises(EndpointNotFoundError):
        router.pick("axon-iris", None, set())


def test_failed_replicas_are_never_picked_again() -> None:
    router, replicas = _router()
    router.set_routes("axon-iris", [FleetShare("green", 1.0, {"a": 1.0})])
    router.mark_failed(replicas["g1"])
    assert router.pick("axon-iris", None, set()) is None


def test_stats_count_by_the_model_status_and_keep_percentiles() -> None:
    book = StatsBook()
    for status, ms in [(200, 10), (200, 30), (404, 20), (500, 40), (302, 5)]:
        book.started("e", "v")
        book.finished("e", "v", status, ms / 1000)
    book.started("e", "v")
    book.abandoned("e", "v")
    book.started("e", "v")
    [row] = book.snapshot("e")
    assert (row.in_flight, row.requests, row.count_2xx, row.count_4xx, row.count_5xx) == (1, 5, 2, 1, 1)
    assert row.p50_ms == pytest.approx(20.0) and row.p99_ms == pytest.approx(40.0)
    book.forget("e")
    assert book.snapshot() == []
    assert percentile([], 50) is None and percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


class _CloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_in_flight_is_published_per_routed_variant_with_average_and_peak() -> None:
    router, replicas = _router()
    replicas["a1"].signal_key = "k" * 32  # from the replicas' environment (names.SIGNAL_KEY_ENV), as on AWS
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0, "b": 1.0})])
    cloudwatch = _CloudWatch()
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    publisher = InFlightPublisher(router, cloudwatch, now=lambda: stamp)
    for busy in (2, 4, 0):
        for _ in range(busy):
            router.stats.started("axon-iris", "a")
        publisher.sample()
        for _ in range(busy):
            router.stats.abandoned("axon-iris", "a")
    publisher.publish()
    [call] = cloudwatch.calls
    assert call["Namespace"] == "Axon/Api/iris"  # the API's own namespace, as its replicas publish on AWS
    by_variant = {d["Dimensions"][1]["Value"]: d for d in call["MetricData"]}
    a = by_variant["a"]
    assert a["MetricName"] == "InFlight" and a["Dimensions"][0] == {"Name": "Api", "Value": "iris"}
    assert a["Dimensions"][2] == {"Name": "Key", "Value": "k" * 32}  # what the autoscaler reads: the API's key
    assert a["StatisticValues"] == {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 0.0, "Maximum": 4.0}
    assert (a["StorageResolution"], a["Timestamp"]) == (1, stamp)
    assert by_variant["b"]["StatisticValues"]["Sum"] == 0.0  # idle variants report zeros, for scale-in
    publisher.publish()
    assert len(cloudwatch.calls) == 1  # nothing sampled since: nothing sent


def test_the_publisher_thread_samples_and_stops() -> None:
    router, _ = _router()
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0})])
    cloudwatch = _CloudWatch()
    publisher = InFlightPublisher(router, cloudwatch, sample_seconds=0.01, period_seconds=0.03)
    publisher.start()
    deadline = time.monotonic() + 5
    while not cloudwatch.calls:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    publisher.close()
    assert cloudwatch.calls[0]["MetricData"][0]["Dimensions"][1]["Value"] == "a"


def test_api_of_endpoint() -> None:
    assert (api_of("axon-iris"), api_of("other")) == ("iris", "other")


def test_demand_is_each_variants_replica_counter_increase_since_the_last_publish() -> None:
    """Arrivals and service time come from the replicas' own counters (the router cannot see time in the
    predictor): summed over a variant's replicas, per period; a restarted replica counts from zero; a variant whose
    replicas do not answer gets no demand datum at all (absent, never zero)."""
    router, replicas = _router()
    router.set_routes("axon-iris", [FleetShare("blue", 1.0, {"a": 1.0, "b": 1.0})])
    counters: dict[Replica, DemandCounters | None] = {
        replicas["a1"]: DemandCounters(arrivals=10, served=8, service_seconds=2.0),
        replicas["a2"]: DemandCounters(arrivals=5, served=5, service_seconds=5.0),
        replicas["b1"]: None,  # not answering
        replicas["g1"]: DemandCounters(1000, 1000, 1000.0),  # green fleet: not routed, not read
    }
    cloudwatch = _CloudWatch()
    publisher = InFlightPublisher(router, cloudwatch, read_demand=counters.__getitem__)

    def publish() -> dict[tuple[str, str], dict[str, Any]]:
        publisher.sample()
        publisher.publish()
        request = cloudwatch.calls[-1]
        shape = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
        assert shape.input_shape is not None
        validate_parameters(request, shape.input_shape)  # what the real CloudWatch API accepts
        return {(d["Dimensions"][1]["Value"], d["MetricName"]): d for d in request["MetricData"]}

    first = publish()
    assert first["a", "Arrivals"]["Value"] == 15  # since the replicas started
    assert first["a", "ServiceTime"]["StatisticValues"] == {
        "SampleCount": 13,
        "Sum": 7.0,  # Average 7 / 13 s per request over both replicas
        "Minimum": 0.25,  # a1's mean per request
        "Maximum": 1.0,  # a2's
    }
    assert ("b", "InFlight") in first and ("b", "Arrivals") not in first and ("b", "ServiceTime") not in first
    counters[replicas["a1"]] = DemandCounters(14, 8, 2.0)  # 4 more arrived, none finished
    counters[replicas["a2"]] = DemandCounters(2, 1, 0.5)  # restarted: counts from zero again
    second = publish()
    assert second["a", "Arrivals"]["Value"] == 6
    assert second["a", "ServiceTime"]["StatisticValues"]["SampleCount"] == 1
    assert second["a", "ServiceTime"]["StatisticValues"]["Sum"] == 0.5
    counters[replicas["a2"]] = DemandCounters(2, 1, 0.5)
    third = publish()
    assert third["a", "Arrivals"]["Value"] == 0  # idle, and said so: zero arrivals are data
    assert ("a", "ServiceTime") not in third  # nothing finished: no statistic set


def test_the_publisher_reads_the_counters_the_runtime_serves() -> None:
    """``render_prometheus`` (the replica's ``/metrics``) and ``scrape_demand`` agree, over real HTTP."""
    stats, meter, window = Stats(), ServiceMeter(), InFlightWindow(10)
    for _ in range(3):
        meter.arrived()
    meter.served(2, 0.123456789)
    window.sample(100, 1, stats, meter)
    window.close(stats, meter)
    body = render_prometheus(stats, 0, window.last, {"api": "iris"})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        counters = scrape_demand(_replica("a", server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
    assert counters == DemandCounters(arrivals=3, served=2, service_seconds=2 * 0.123456789)
    assert scrape_demand(_replica("a", server.server_address[1]), timeout=0.2) is None  # gone: no counters
    assert parse_demand("axon_in_flight 1\n") is None  # a runtime from before the demand signal


def test_the_async_backlog_is_published_as_sagemaker_publishes_it() -> None:
    """What the autoscaler scales an async API on (and from zero): AWS/SageMaker by EndpointName."""
    router, _ = _router()
    cloudwatch = _CloudWatch()
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    backlogs = {"axon-jobs": (3, 0), "axon-idle": (0, 2), "axon-busy": (6, 2)}
    InFlightPublisher(router, cloudwatch, now=lambda: stamp, backlogs=lambda: backlogs).publish()
    [call] = cloudwatch.calls
    assert call["Namespace"] == "AWS/SageMaker"
    got = {(d["Dimensions"][0]["Value"], d["MetricName"]): d["Value"] for d in call["MetricData"]}
    assert got == {
        ("axon-busy", "ApproximateBacklogSize"): 6.0,
        ("axon-busy", "ApproximateBacklogSizePerInstance"): 3.0,
        ("axon-busy", "HasBacklogWithoutCapacity"): 0.0,
        ("axon-idle", "ApproximateBacklogSize"): 0.0,
        ("axon-idle", "ApproximateBacklogSizePerInstance"): 0.0,
        ("axon-idle", "HasBacklogWithoutCapacity"): 0.0,
        ("axon-jobs", "ApproximateBacklogSize"): 3.0,
        ("axon-jobs", "HasBacklogWithoutCapacity"): 1.0,  # requests wait and no instance serves
    }
    assert {d["Timestamp"] for d in call["MetricData"]} == {stamp}
