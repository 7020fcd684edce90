"""Request statistics: the GetMetricData request and its reading; the local front door's JSON."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from axon.cli.errors import StatsUnavailableError
from axon.cli.stats import (
    AlbTargets,
    ApiStats,
    CloudWatchStats,
    LocalStats,
    alb_stats_from_values,
    metric_queries,
    stats_from_variants,
)

NOW = 1_700_000_123.0  # 2023-11-14T22:15:23Z; the window ends at the minute before


class FakeCloudWatch:
    """Answers GetMetricData pages from canned values; records each request."""

    def __init__(self, values: dict[str, list[float]], page_size: int = 4, error: ClientError | None = None) -> None:
        self.values = values
        self.page_size = page_size
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> "FakeCloudWatch":
        assert name == "get_metric_data"
        return self

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        if self.error is not None:
            raise self.error
        self.requests.append(request)
        results = [{"Id": q["Id"], "Values": self.values.get(q["Id"], [])} for q in request["MetricDataQueries"]]
        for start in range(0, len(results), self.page_size):
            yield {"MetricDataResults": results[start : start + self.page_size]}


def test_queries_name_the_metrics_and_dimensions_the_issue_fixes() -> None:
    queries = {q["Id"]: q["MetricStat"] for q in metric_queries(["iris"])}
    assert set(queries) == {"a0_inflight", "a0_p50", "a0_p99", "a0_calls", "a0_e4xx", "a0_e5xx"}
    assert queries["a0_inflight"]["Metric"] == {
        "Namespace": "Axon",
        "MetricName": "InFlight",
        "Dimensions": [{"Name": "Api", "Value": "iris"}, {"Name": "Variant", "Value": "AllTraffic"}],
    }
    assert queries["a0_p99"] == {
        "Metric": {
            "Namespace": "AWS/SageMaker",
            "MetricName": "ModelLatency",
            "Dimensions": [
                {"Name": "EndpointName", "Value": "axon-iris"},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
        },
        "Period": 300,
        "Stat": "p99",
    }
    assert [queries[k]["Metric"]["MetricName"] for k in ("a0_calls", "a0_e4xx", "a0_e5xx")] == [
        "Invocations",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
    ]


def test_cloudwatch_stats_read_the_newest_points_and_convert_latency_to_ms() -> None:
    cloudwatch = FakeCloudWatch(
        {
            "a0_inflight": [3.0, 9.0],  # newest first (ScanBy TimestampDescending)
            "a0_p50": [12_000.0],
            "a0_p99": [95_500.0],
            "a0_calls": [100.0],
            "a0_e4xx": [7.0],
            "a0_e5xx": [3.0],
        }
    )
    found = CloudWatchStats(cloudwatch, lambda: NOW).fetch(["iris", "idle"])
    assert found == {"iris": ApiStats(in_flight=3.0, p50_ms=12.0, p99_ms=95.5, count_2xx=90, count_4xx=7, count_5xx=3)}
    [request] = cloudwatch.requests
    assert request["EndTime"] == datetime(2023, 11, 14, 22, 15, tzinfo=UTC)
    assert request["StartTime"] == datetime(2023, 11, 14, 22, 10, tzinfo=UTC)
    assert request["ScanBy"] == "TimestampDescending"


ALB = AlbTargets(
    "app/axon/50dc6c495c0c9188", ("targetgroup/ax-gpu-v1-1a2b3c/73e2d6bc24d8a067", "targetgroup/ax-gpu-v2-4d5e6f/1")
)


def test_ecs_apis_are_queried_per_target_group_of_their_load_balancer() -> None:
    queries = {q["Id"]: q["MetricStat"] for q in metric_queries(["iris", "gpu"], {"gpu": ALB})}
    assert sorted(k for k in queries if k.startswith("a1_")) == sorted(
        ["a1_inflight"] + [f"a1_t{g}_{m}" for g in (0, 1) for m in ("p50", "p99", "calls", "c2xx", "c4xx", "c5xx")]
    )
    assert len([k for k in queries if k.startswith("a0_")]) == 6  # iris stays a SageMaker endpoint
    assert queries["a1_t1_p99"] == {
        "Metric": {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "TargetResponseTime",
            "Dimensions": [
                {"Name": "LoadBalancer", "Value": "app/axon/50dc6c495c0c9188"},
                {"Name": "TargetGroup", "Value": "targetgroup/ax-gpu-v2-4d5e6f/1"},
            ],
        },
        "Period": 300,
        "Stat": "p99",
    }
    names = {k: queries[k]["Metric"]["MetricName"] for k in ("a1_t0_calls", "a1_t0_c2xx", "a1_t0_c4xx", "a1_t0_c5xx")}
    assert names == {
        "a1_t0_calls": "RequestCount",
        "a1_t0_c2xx": "HTTPCode_Target_2XX_Count",
        "a1_t0_c4xx": "HTTPCode_Target_4XX_Count",
        "a1_t0_c5xx": "HTTPCode_Target_5XX_Count",
    }
    assert queries["a1_inflight"]["Metric"]["Namespace"] == "Axon"


def test_target_groups_are_summed_and_the_slowest_latency_kept_in_ms() -> None:
    values = {
        "inflight": 1.5,
        "t0_p50": 0.010,
        "t0_p99": 0.040,
        "t0_calls": 8.0,
        "t0_c2xx": 8.0,
        "t1_p50": 0.020,
        "t1_p99": 0.030,
        "t1_calls": 3.0,
        "t1_c2xx": 1.0,
        "t1_c5xx": 2.0,
    }
    assert alb_stats_from_values(values, 2) == ApiStats(
        in_flight=1.5, p50_ms=20.0, p99_ms=40.0, count_2xx=9, count_4xx=0, count_5xx=2
    )
    # no request in the window: counts unknown rather than zero
    assert alb_stats_from_values({"inflight": 0.0}, 2) == ApiStats(in_flight=0.0)


def test_cloudwatch_stats_read_ecs_apis_from_their_target_groups() -> None:
    cloudwatch = FakeCloudWatch({"a0_t0_c4xx": [4.0], "a0_t1_p50": [0.5]})
    found = CloudWatchStats(cloudwatch, lambda: NOW).fetch(["gpu"], {"gpu": ALB})
    assert found == {"gpu": ApiStats(p50_ms=500.0, count_2xx=0, count_4xx=4, count_5xx=0)}
    assert len(cloudwatch.requests) == 1


def test_cloudwatch_stats_batch_500_queries_per_call() -> None:
    cloudwatch = FakeCloudWatch({}, page_size=500)
    assert CloudWatchStats(cloudwatch, lambda: NOW).fetch([f"api{i}" for i in range(100)]) == {}
    assert [len(r["MetricDataQueries"]) for r in cloudwatch.requests] == [500, 100]


def test_cloudwatch_errors_become_stats_unavailable() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")
    with pytest.raises(StatsUnavailableError, match="GetMetricData failed: AccessDenied: no"):
        CloudWatchStats(FakeCloudWatch({}, error=denied), lambda: NOW).fetch(["iris"])


def test_variants_are_summed_and_the_slowest_latency_kept() -> None:
    body = {
        "variants": {
            "blue": {
                "in_flight": 1.5,
                "p50_ms": 10.0,
                "p99_ms": 40.0,
                "count_2xx": 5,
                "count_4xx": 1,
                "count_5xx": 0,
                "replicas_ready": 1,
            },
            "green": {
                "in_flight": 0.5,
                "p50_ms": None,
                "p99_ms": 70.0,
                "count_2xx": 2,
                "count_4xx": 0,
                "count_5xx": 1,
                "replicas_ready": 1,
            },
        }
    }
    assert stats_from_variants(body) == ApiStats(
        in_flight=2.0, p50_ms=10.0, p99_ms=70.0, count_2xx=7, count_4xx=1, count_5xx=1
    )


class _Handler(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.answers.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def front_door() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_local_stats_read_the_front_door_and_skip_404s(front_door: str) -> None:
    body = {
        "variants": {
            "AllTraffic": {
                "in_flight": 1.0,
                "p50_ms": 2.0,
                "p99_ms": 3.0,
                "count_2xx": 4,
                "count_4xx": 5,
                "count_5xx": 6,
                "replicas_ready": 1,
            }
        }
    }
    _Handler.answers = {"/_axon/stats/axon-iris": (200, json.dumps(body).encode())}
    found = LocalStats(front_door).fetch(["iris", "fresh"])
    assert found == {"iris": ApiStats(in_flight=1.0, p50_ms=2.0, p99_ms=3.0, count_2xx=4, count_4xx=5, count_5xx=6)}


@pytest.mark.parametrize(
    ("status", "body", "expected"), [(500, b"{}", "answered HTTP 500"), (200, b"not json", "Expecting value")]
)
def test_local_stats_failures_are_stats_unavailable(front_door: str, status: int, body: bytes, expected: str) -> None:
    _Handler.answers = {"/_axon/stats/axon-iris": (status, body)}
    with pytest.raises(StatsUnavailableError, match=expected):
        LocalStats(front_door).fetch(["iris"])


def test_local_stats_need_an_http_url() -> None:
    with pytest.raises(StatsUnavailableError, match="is not http"):
        LocalStats("file:///etc")
    with pytest.raises(StatsUnavailableError, match=r"127\.0\.0\.1:9"):
        LocalStats("http://127.0.0.1:9", timeout_seconds=0.5).fetch(["iris"])


def test_requests_to_a_local_ecs_api_are_counted_where_axon_get_reads_them() -> None:
    """The local ALB counts in the front door's book under ``axon-<api>``, as the local SageMaker does, so
    ``/_axon/stats/axon-<api>`` (read by :class:`LocalStats`) covers ECS APIs with no change."""
    import asyncio
    import dataclasses

    import httpx

    from axon_local.dataplane.router import Replica, Router
    from axon_local.dataplane.stats import StatsBook
    from axon_local.ecs.alb import LocalAlb, RouteTable
    from axon_local.ecs.listener import path_regex
    from axon_local.sagemaker.ports import FleetShare

    class Process:
        port = 1

        @staticmethod
        def exit_code() -> None:
            return None

    book = StatsBook()
    router = Router(book)
    router.add_replicas("fleet-v1", "AllTraffic", [Replica("axon-gpu", "AllTraffic", Process())])  # type: ignore[arg-type]
    router.set_routes("axon-gpu", [FleetShare("fleet-v1", 1.0, {"AllTraffic": 1.0})])
    table = RouteTable(router, frozenset({"gpu"}), paths={"gpu": (path_regex("/apis/gpu/invocations"),)})
    answers = iter([200, 200, 500])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers), content=b"{}"))
    alb = LocalAlb(lambda: table, lambda: table, port=80, retry_window_seconds=0, transport=transport)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    async def three_requests() -> None:
        scope = {"type": "http", "method": "POST", "path": "/apis/gpu/invocations", "headers": [], "query_string": b""}
        for _ in range(3):
            await alb(scope, receive, send)
        await alb.aclose()

    asyncio.run(three_requests())
    body = {"variants": {s.variant: dataclasses.asdict(s) for s in book.snapshot("axon-gpu")}}  # the front door's
    stats = stats_from_variants(body)
    assert (stats.count_2xx, stats.count_4xx, stats.count_5xx, stats.in_flight) == (2, 0, 1, 0.0)
