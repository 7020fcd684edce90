"""``MetricSource`` over CloudWatch ``GetMetricData``: 500 queries per call, paginated, with a SageMaker fallback.

Where: ``InFlight`` in the API's own namespace ``Axon/Api/<api>``, which only that API's role can write with
``PutMetricData``, under the API's secret signal key (``names.in_flight_dimensions``), which EMF lines that
another API's code prints into its own log group cannot carry.
Why ``Sum``: every serving process publishes exactly one ``InFlight`` datapoint (running + queued, the mean
of its 1-s samples) per aligned 10-second window under the API's ``Api``/``Variant`` dimensions (the serving
runtime's contract, ``model_images/axon_serving/emf.py``), so a 10-s period's ``Sum`` is the variant's total
in flight over all replicas and workers, the signal Cortex divides by the target. ``Average`` would be per
process (a replica may run several) and ``Maximum`` one process's worst window. SageMaker's high-resolution
``ConcurrentRequestsPerModel`` (queued requests included) is emitted by each instance every 10 s, so its
``Sum`` is the same total; it stands in where ``Axon/InFlight`` has no data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from axon import aws, names
from axon.autoscaler.metrics import Series, SeriesKey

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef

MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit on MetricDataQueries
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
SAGEMAKER_IN_FLIGHT = "ConcurrentRequestsPerModel"


def axon_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """``InFlight`` for one API variant from the API's own namespace ``Axon/Api/<api>``, 10-s Sum.

    Only the API's own IAM role may put data there (``cloudwatch:namespace`` condition), and only datapoints with
    the API's signal key match, so no other API's code can steer this API's replica count, through
    ``PutMetricData`` or through EMF; the shared ``Axon`` namespace (EMF, writable from any log group) is not read.
    """
    return _query(
        query_id,
        names.api_metric_namespace(key.api),
        names.IN_FLIGHT_METRIC,
        names.in_flight_dimensions(key.api, key.variant, key.signal_key),
    )


def sagemaker_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """SageMaker's high-resolution ``ConcurrentRequestsPerModel`` for the API's endpoint variant, 10-s Sum."""
    return _query(
        query_id,
        SAGEMAKER_NAMESPACE,
        SAGEMAKER_IN_FLIGHT,
        [
            {"Name": "EndpointName", "Value": names.endpoint_name(key.api)},
            {"Name": "VariantName", "Value": key.variant},
        ],
    )


def _query(query_id: str, namespace: str, metric: str, dimensions: list[Any]) -> MetricDataQueryTypeDef:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": names.IN_FLIGHT_PERIOD_SECONDS,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


class CloudWatchMetricSource:
    """Fetches every key's series in ``ceil(keys / 500)`` calls (plus pages), then the fallback for the gaps.

    Examples
    --------
    >>> source = CloudWatchMetricSource(client=cloudwatch_client)  # doctest: +SKIP
    >>> source.in_flight([SeriesKey("iris", "v-1")], start, end)  # doctest: +SKIP
    {SeriesKey(api='iris', variant='v-1'): [(1700000000.0, 0.8), ...]}
    """

    def __init__(self, client: CloudWatchClient | None = None, *, sagemaker_fallback: bool = True):
        self._client: CloudWatchClient = client if client is not None else aws.client("cloudwatch")
        self._fallback = sagemaker_fallback
        self.calls = 0  # GetMetricData calls made (pages included), for the tick's summary

    def in_flight(self, keys: Sequence[SeriesKey], start: datetime, end: datetime) -> dict[SeriesKey, Series]:
        unique = sorted(set(keys))
        found = self._fetch(unique, axon_query, start, end)
        missing = [key for key in unique if not found.get(key)]
        if self._fallback and missing:
            found.update({k: v for k, v in self._fetch(missing, sagemaker_query, start, end).items() if v})
        return {key: series for key, series in found.items() if series}

    def _fetch(
        self,
        keys: list[SeriesKey],
        build: Callable[[str, SeriesKey], MetricDataQueryTypeDef],
        start: datetime,
        end: datetime,
    ) -> dict[SeriesKey, Series]:
        result: dict[SeriesKey, Series] = {}
        for chunk_start in range(0, len(keys), MAX_QUERIES_PER_CALL):
            chunk = keys[chunk_start : chunk_start + MAX_QUERIES_PER_CALL]
            by_id = {f"q{i}": key for i, key in enumerate(chunk)}  # ids must start with a lowercase letter
            queries = [build(query_id, key) for query_id, key in by_id.items()]
            for page in self._pages(queries, start, end):
                for item in page:
                    series = result.setdefault(by_id[item["Id"]], [])
                    series.extend(
                        (ts.timestamp(), float(v)) for ts, v in zip(item["Timestamps"], item["Values"], strict=True)
                    )
        return {key: sorted(series) for key, series in result.items()}

    def _pages(self, queries: list[MetricDataQueryTypeDef], start: datetime, end: datetime) -> Iterator[list[Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            }
            if token:
                kwargs["NextToken"] = token
            response = self._client.get_metric_data(**kwargs)
            self.calls += 1
            yield list(response["MetricDataResults"])
            token = response.get("NextToken")
            if not token:
                return
