"""CloudWatchMetricSource against moto: PutMetricData in, GetMetricData out, in a bounded number of calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon.autoscaler.cloudwatch import (
    MAX_QUERIES_PER_CALL,
    SAGEMAKER_IN_FLIGHT,
    SAGEMAKER_NAMESPACE,
    CloudWatchMetricSource,
    axon_query,
)
from axon.autoscaler.metrics import SeriesKey

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


def test_a_thousand_apis_in_two_calls(cloudwatch: Any) -> None:
    for n in range(APIS):
        dims = [{"Name": "Api", "Value": f"api-{n}"}, {"Name": "Variant", "Value": "v-1"}]
        cloudwatch.put_metric_data(
            Namespace=names.api_metric_namespace(f"api-{n}"),
            MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, dims, [float(n % 7)]),
        )
    source = CloudWatchMetricSource(client=cloudwatch)
    keys = [SeriesKey(f"api-{n}", "v-1") for n in range(APIS)]
    # A short range keeps moto's per-period scan fast; the call count does not depend on it.
    series = source.in_flight(keys, NOW - timedelta(seconds=40), NOW - timedelta(seconds=20))
    assert source.calls == APIS // MAX_QUERIES_PER_CALL == 2
    assert len(series) == APIS
    assert [v for _, v in series[SeriesKey("api-3", "v-1")]] == [3.0]


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
    series = source.in_flight(keys, NOW - timedelta(minutes=5), NOW)
    assert {k.api: [v for _, v in s] for k, s in series.items()} == {"a": [2.0], "b": [4.0]}
    assert source.calls == 2  # one for Axon/InFlight, one fallback for the two without it


def test_follows_next_token_pages() -> None:
    class Paged:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(kwargs)
            page = len(self.calls)
            ts = NOW - timedelta(seconds=10 * page)
            result = {"MetricDataResults": [{"Id": "q0", "Timestamps": [ts], "Values": [float(page)]}]}
            return {**result, "NextToken": "more"} if page == 1 else result

    client = Paged()
    source = CloudWatchMetricSource(client=client, sagemaker_fallback=False)  # type: ignore[arg-type]
    series = source.in_flight([SeriesKey("a", "v-1")], NOW - timedelta(minutes=5), NOW)
    assert [v for _, v in series[SeriesKey("a", "v-1")]] == [2.0, 1.0]  # merged across pages, oldest first
    assert client.calls[1]["NextToken"] == "more" and "NextToken" not in client.calls[0]


def test_the_sum_over_serving_processes_is_the_total_in_flight(cloudwatch: Any) -> None:
    dims = [{"Name": "Api", "Value": "a"}, {"Name": "Variant", "Value": "v-1"}]
    for process_value in (1.5, 2.5):  # two replicas (or workers) publish one datapoint each for the window
        cloudwatch.put_metric_data(
            Namespace=names.api_metric_namespace("a"),
            MetricData=put(cloudwatch, "", names.IN_FLIGHT_METRIC, dims, [process_value]),
        )
    series = CloudWatchMetricSource(client=cloudwatch).in_flight(
        [SeriesKey("a", "v-1")], NOW - timedelta(minutes=1), NOW
    )
    assert [v for _, v in series[SeriesKey("a", "v-1")]] == [4.0]


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
