"""CloudWatchMetricSource against moto: PutMetricData in (the serving runtime's own call for the demand signal),
GetMetricData out, in a bounded number of calls."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from axon_serving.emf import signal_request
from axon_serving.metrics import Service, Window
from moto import mock_aws

from axon import names
from axon.autoscaler.cloudwatch import (
    MAX_QUERIES_PER_CALL,
    SAGEMAKER_IN_FLIGHT,
    SAGEMAKER_NAMESPACE,
    CloudWatchMetricSource,
    arrivals_query,
    axon_query,
    backlog_query,
    no_capacity_query,
    queue_in_flight_query,
    queue_visible_query,
    service_time_query,
)
from axon.autoscaler.metrics import BACKLOG_SAGEMAKER, BACKLOG_SQS, SeriesKey

NOW = datetime.now(UTC).replace(microsecond=0)
APIS = 1000


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def put(cloudwatch: Any, namespace: str, metric: str, dims: list[dict[str, str]], values: list[float]) -> list[Any]:
    return [
        {
            "MetricName": metric,
            "Dimensions": dims,
            "Timestamp": NOW - timedelta(seconds=30 + 10 * i),
            "Value": value,
            "StorageResolution": 1,
        }
        for i, value in enumerate(values)
    ]


def test_a_thousand_apis_in_seven_calls(cloudwatch: Any) -> None:
    for n in range(APIS):
        dims = [{"Name": "Api", "Value": f"api-{n}"}, {"Name": "Variant", "Value": "v-1"}]
        cloudwatch.put_metric_data(
            Namespace=names.api_metric_namespace(f"api-{n}"),
            MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, dims, [float(n % 7)]),
        )
    source = CloudWatchMetricSource(client=cloudwatch)
    keys = [SeriesKey(f"api-{n}", "v-1") for n in range(APIS)]
    # A short range keeps moto's per-period scan fast; the call count does not depend on it.
    signals = source.signals(keys, NOW - timedelta(seconds=40), NOW - timedelta(seconds=20))
    # Three queries per key (in-flight, arrivals, service time), every key's three in the same call.
    assert source.calls == math.ceil(APIS / (MAX_QUERIES_PER_CALL // 3)) == 7
    assert len(signals) == APIS
    assert [v for _, v in signals[SeriesKey("api-3", "v-1")].in_flight] == [3.0]


def test_falls_back_to_sagemaker_concurrent_requests_only_where_axon_has_no_data(cloudwatch: Any) -> None:
    axon_dims = [{"Name": "Api", "Value": "a"}, {"Name": "Variant", "Value": "v-1"}]
    cloudwatch.put_metric_data(
        Namespace=names.api_metric_namespace("a"),
        MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, axon_dims, [2.0]),
    )
    sm_dims = [{"Name": "EndpointName", "Value": names.endpoint_name("b")}, {"Name": "VariantName", "Value": "v-1"}]
    cloudwatch.put_metric_data(
        Namespace=SAGEMAKER_NAMESPACE, MetricData=put(cloudwatch, "", SAGEMAKER_IN_FLIGHT, sm_dims, [4.0])
    )
    source = CloudWatchMetricSource(client=cloudwatch)
    keys = [SeriesKey("a", "v-1"), SeriesKey("b", "v-1"), SeriesKey("silent", "v-1")]
    signals = source.signals(keys, NOW - timedelta(minutes=5), NOW)
    assert {k.api: [v for _, v in s.in_flight] for k, s in signals.items()} == {"a": [2.0], "b": [4.0]}
    assert all(s.requests == [] for s in signals.values())  # SageMaker has no per-10-s arrivals
    assert source.calls == 2  # one for Axon/InFlight, one fallback for the two without it


def test_follows_next_token_pages() -> None:
    class Paged:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(kwargs)
            page = len(self.calls)
            ts = NOW - timedelta(seconds=10 * page)
            result = {"MetricDataResults": [{"Id": "i0", "Timestamps": [ts], "Values": [float(page)]}]}
            return {**result, "NextToken": "more"} if page == 1 else result

    client = Paged()
    source = CloudWatchMetricSource(client=client, sagemaker_fallback=False)  # type: ignore[arg-type]
    signals = source.signals([SeriesKey("a", "v-1")], NOW - timedelta(minutes=5), NOW)
    assert [v for _, v in signals[SeriesKey("a", "v-1")].in_flight] == [2.0, 1.0]  # merged across pages, oldest first
    assert client.calls[1]["NextToken"] == "more" and "NextToken" not in client.calls[0]


def test_the_sum_over_serving_processes_is_the_total_in_flight(cloudwatch: Any) -> None:
    dims = [{"Name": "Api", "Value": "a"}, {"Name": "Variant", "Value": "v-1"}]
    for process_value in (1.5, 2.5):  # two replicas (or workers) publish one datapoint each for the window
        cloudwatch.put_metric_data(
            Namespace=names.api_metric_namespace("a"),
            MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, dims, [process_value]),
        )
    signals = CloudWatchMetricSource(client=cloudwatch).signals(
        [SeriesKey("a", "v-1")], NOW - timedelta(minutes=1), NOW
    )
    assert [v for _, v in signals[SeriesKey("a", "v-1")].in_flight] == [4.0]


def test_in_flight_is_read_only_from_the_apis_own_namespace() -> None:
    """Another API's code can put ``Api=a`` data in the shared namespace (EMF from its own log group) or in its own
    namespace; neither steers a: only ``Axon/Api/a``, which a's role alone may write, is queried.

    Checked on the query itself: moto's GetMetricData ignores the namespace of a query that names dimensions.
    """
    query = axon_query("q0", SeriesKey("a", "v-1"))
    assert query["MetricStat"]["Metric"]["Namespace"] == names.api_metric_namespace("a") == "Axon/Api/a"
    assert query["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "Api", "Value": "a"},
        {"Name": "Variant", "Value": "v-1"},
    ]


def _replica(cloudwatch: Any, start: float, arrivals: int, service_seconds: list[float], key: str = "k" * 32) -> None:
    """One serving process's window, sent as the runtime sends it (``signal_request``)."""
    service = Service(
        arrivals,
        len(service_seconds),
        sum(service_seconds),
        min(service_seconds, default=0.0),
        max(service_seconds, default=0.0),
    )
    window = Window(
        start, in_flight=1.0, samples=10, requests=0, errors_4xx=0, errors_5xx=0, latency_ms=None, service=service
    )
    cloudwatch.put_metric_data(**signal_request(window, "a", "v-1", key))


def test_arrivals_sum_and_service_time_is_the_mean_per_request_over_every_replica(cloudwatch: Any) -> None:
    """Two replicas in one period: 30 + 10 arrivals; 9 requests at 0.1 s and 1 at 2.0 s. The variant's mean
    is 2.9 / 10 = 0.29 s per request (a mean of the replicas' means, (0.1 + 2.0) / 2, would be 1.05)."""
    start = (NOW - timedelta(seconds=40)).timestamp()
    start -= start % 10
    _replica(cloudwatch, start, 30, [0.1] * 9)
    _replica(cloudwatch, start, 10, [2.0])
    _replica(cloudwatch, start + 10, 5, [])  # arrived, nothing finished: 0.0 s, not a missing point
    _replica(cloudwatch, start, 1000, [9.0], key="forged")  # without the API's signal key: not read
    source = CloudWatchMetricSource(client=cloudwatch, sagemaker_fallback=False)
    query_start = datetime.fromtimestamp(start - 20, UTC)  # on a period boundary, as CloudWatch aligns periods
    signals = source.signals([SeriesKey("a", "v-1", "k" * 32)], query_start, NOW)
    [(t0, arrivals0, mean0), (t1, arrivals1, mean1)] = signals[SeriesKey("a", "v-1", "k" * 32)].requests
    assert (t0, arrivals0, t1, arrivals1, mean1) == (start, 40.0, start + 10, 5.0, 0.0)
    assert mean0 == pytest.approx(0.29)
    assert [v for _, v in signals[SeriesKey("a", "v-1", "k" * 32)].in_flight] == [2.0, 1.0]
    assert source.calls == 1  # the three series of a key come in one call


def test_a_runtime_without_the_demand_signal_yields_in_flight_only(cloudwatch: Any) -> None:
    dims = [{"Name": "Api", "Value": "a"}, {"Name": "Variant", "Value": "v-1"}]
    cloudwatch.put_metric_data(
        Namespace=names.api_metric_namespace("a"),
        MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, dims, [2.0]),
    )
    signals = CloudWatchMetricSource(client=cloudwatch).signals(
        [SeriesKey("a", "v-1")], NOW - timedelta(minutes=1), NOW
    )
    assert signals[SeriesKey("a", "v-1")].requests == []  # absent, never zeros


def test_demand_queries_read_the_apis_own_namespace_with_the_signal_key() -> None:
    key = SeriesKey("a", "v-1", "k" * 32)
    for build, metric, stat in (
        (arrivals_query, names.ARRIVALS_METRIC, "Sum"),
        (service_time_query, names.SERVICE_TIME_METRIC, "Average"),
    ):
        stat_query = build("x0", key)["MetricStat"]
        assert stat_query["Metric"]["Namespace"] == "Axon/Api/a" and stat_query["Metric"]["MetricName"] == metric
        assert stat_query["Stat"] == stat and stat_query["Period"] == 10
        assert stat_query["Metric"]["Dimensions"][-1] == {"Name": "Key", "Value": "k" * 32}


def _minute_datum(metric: str, dims: list[dict[str, str]], value: float) -> dict[str, Any]:
    return {"MetricName": metric, "Dimensions": dims, "Timestamp": NOW - timedelta(seconds=90), "Value": value}


def test_an_async_apis_backlog_is_read_and_a_real_time_apis_is_not(cloudwatch: Any) -> None:
    """SageMaker's two backlog metrics become one point per minute (size, no-capacity flag); an ECS async API's queue
    is its waiting plus its in-flight messages; a real-time key costs no backlog query."""
    endpoint = [{"Name": "EndpointName", "Value": names.endpoint_name("jobs")}]
    cloudwatch.put_metric_data(
        Namespace=names.ASYNC_BACKLOG_NAMESPACE,
        MetricData=[
            _minute_datum(names.ASYNC_BACKLOG_METRIC, endpoint, 3.0),
            _minute_datum(names.ASYNC_NO_CAPACITY_METRIC, endpoint, 1.0),
        ],
    )
    queue = [{"Name": "QueueName", "Value": names.async_queue_name("batch")}]
    visible, in_flight = names.SQS_BACKLOG_METRICS
    cloudwatch.put_metric_data(
        Namespace=names.SQS_NAMESPACE,
        MetricData=[_minute_datum(visible, queue, 5.0), _minute_datum(in_flight, queue, 2.0)],
    )
    jobs, batch = SeriesKey("jobs", "v-1", "", BACKLOG_SAGEMAKER), SeriesKey("batch", "v-1", "", BACKLOG_SQS)
    source = CloudWatchMetricSource(client=cloudwatch, sagemaker_fallback=False)
    signals = source.signals([jobs, batch, SeriesKey("chat", "v-1")], NOW - timedelta(minutes=5), NOW)
    assert [(size, flag) for _, size, flag in signals[jobs].backlog] == [(3.0, 1.0)]
    assert [(size, flag) for _, size, flag in signals[batch].backlog] == [(7.0, 0.0)]
    assert signals[jobs].in_flight == [] and SeriesKey("chat", "v-1") not in signals
    assert source.calls == 3  # the replicas' signals, then one call per backlog source


def test_backlog_queries_read_the_aws_metrics_by_minute_maximum() -> None:
    key = SeriesKey("jobs", "v-1", "k" * 32)
    expected = {
        backlog_query: ("AWS/SageMaker", "ApproximateBacklogSize", "EndpointName", "axon-jobs"),
        no_capacity_query: ("AWS/SageMaker", "HasBacklogWithoutCapacity", "EndpointName", "axon-jobs"),
        queue_visible_query: ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "axon-jobs-async"),
        queue_in_flight_query: ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", "axon-jobs-async"),
    }
    for build, (namespace, metric, dimension, value) in expected.items():
        stat = build("x0", key)["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == (namespace, metric)
        assert stat["Metric"]["Dimensions"] == [{"Name": dimension, "Value": value}]
        assert (stat["Stat"], stat["Period"]) == ("Maximum", 60)
