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
from axon.cli.stats import ApiStats, CloudWatchStats, LocalStats, metric_queries, stats_from_variants

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
