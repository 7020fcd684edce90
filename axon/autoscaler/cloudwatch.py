"""``MetricSource`` over CloudWatch ``GetMetricData``: 500 queries per call, paginated, with a SageMaker fallback.

Where: ``InFlight``, ``Arrivals`` and ``ServiceTime`` in the API's own namespace ``Axon/Api/<api>``, which only
that API's role can write with ``PutMetricData``, under the API's secret signal key
(``names.in_flight_dimensions``), which EMF lines that another API's code prints into its own log group cannot
carry. Three queries per key, so one call covers ``500 // 3`` keys.
Why ``Sum`` for in-flight: every serving process publishes exactly one ``InFlight`` datapoint (running + queued,
the mean of its 1-s samples) per aligned 10-second window under the API's ``Api``/``Variant`` dimensions (the
serving runtime's contract, ``model_images/axon_serving/emf.py``), so a 10-s period's ``Sum`` is the variant's
total in flight over all replicas and workers, the signal Cortex divides by the target. ``Average`` would be per
process (a replica may run several) and ``Maximum`` one process's worst window. SageMaker's high-resolution
``ConcurrentRequestsPerModel`` (queued requests included) is emitted by each instance every 10 s, so its
``Sum`` is the same total; it stands in where ``InFlight`` has no data.
Why ``Sum`` for arrivals and ``Average`` for service time: ``Arrivals`` is one count per process and window, so
``Sum`` is the variant's; ``ServiceTime`` is a statistic set per process (requests served, their service
seconds), so ``Average`` is all processes' service seconds over all their requests, the per-request mean that
Little's law multiplies by the arrival rate. SageMaker has no stand-in: its ``Invocations`` is per minute only
and ``ModelLatency`` includes the container's queueing, so a variant without ``Arrivals`` has no demand points
and the decision uses in-flight alone.
Async APIs also have a backlog outside their replicas, the one signal left when they have none (scale from zero):
SageMaker's ``ApproximateBacklogSize`` (requests queued or being processed) and ``HasBacklogWithoutCapacity``,
or the ECS API's SQS queue's visible plus in-flight messages, all standard resolution, read as the ``Maximum`` of
each minute (a backlog that came and went within the minute still asks for a replica). Two more queries per async
key, in calls of their own after the replicas' signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from axon import aws, names
from axon.autoscaler.metrics import (
    BACKLOG_SAGEMAKER,
    BACKLOG_SQS,
    BacklogSeries,
    RequestSeries,
    Series,
    SeriesKey,
    Signals,
)

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
    return _signal_query(query_id, key, names.IN_FLIGHT_METRIC, "Sum")


def arrivals_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """``Arrivals`` of one API variant, 10-s Sum: requests that reached its processes, refused ones included."""
    return _signal_query(query_id, key, names.ARRIVALS_METRIC, "Sum")


def service_time_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """``ServiceTime`` of one API variant, 10-s Average over every process's statistic set: seconds per request."""
    return _signal_query(query_id, key, names.SERVICE_TIME_METRIC, "Average")


def _signal_query(query_id: str, key: SeriesKey, metric: str, stat: str) -> MetricDataQueryTypeDef:
    dimensions = names.in_flight_dimensions(key.api, key.variant, key.signal_key)
    return _query(query_id, names.api_metric_namespace(key.api), metric, dimensions, stat)


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


def backlog_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """SageMaker's ``ApproximateBacklogSize`` of the API's async endpoint, 60-s Maximum."""
    return _endpoint_query(query_id, key, names.ASYNC_BACKLOG_METRIC)


def no_capacity_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """SageMaker's ``HasBacklogWithoutCapacity`` of the API's async endpoint, 60-s Maximum (1: requests wait with
    no instance)."""
    return _endpoint_query(query_id, key, names.ASYNC_NO_CAPACITY_METRIC)


def _endpoint_query(query_id: str, key: SeriesKey, metric: str) -> MetricDataQueryTypeDef:
    dimensions: list[Any] = [{"Name": "EndpointName", "Value": names.endpoint_name(key.api)}]
    return _query(
        query_id, names.ASYNC_BACKLOG_NAMESPACE, metric, dimensions, "Maximum", names.ASYNC_BACKLOG_PERIOD_SECONDS
    )


def queue_visible_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """The ECS async API's queue: messages waiting to be received, 60-s Maximum."""
    return _queue_query(query_id, key, names.SQS_BACKLOG_METRICS[0])


def queue_in_flight_query(query_id: str, key: SeriesKey) -> MetricDataQueryTypeDef:
    """The ECS async API's queue: messages received and not yet deleted (being processed), 60-s Maximum."""
    return _queue_query(query_id, key, names.SQS_BACKLOG_METRICS[1])


def _queue_query(query_id: str, key: SeriesKey, metric: str) -> MetricDataQueryTypeDef:
    dimensions: list[Any] = [{"Name": "QueueName", "Value": names.async_queue_name(key.api)}]
    return _query(query_id, names.SQS_NAMESPACE, metric, dimensions, "Maximum", names.ASYNC_BACKLOG_PERIOD_SECONDS)


def _query(
    query_id: str,
    namespace: str,
    metric: str,
    dimensions: list[Any],
    stat: str = "Sum",
    period: int = names.IN_FLIGHT_PERIOD_SECONDS,
) -> MetricDataQueryTypeDef:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


# What a query reads for its key; a key's queries share its index, so ids stay unique within a call.
_AXON_QUERIES: tuple[tuple[str, Callable[[str, SeriesKey], MetricDataQueryTypeDef]], ...] = (
    ("i", axon_query),
    ("a", arrivals_query),
    ("s", service_time_query),
)
_FALLBACK_QUERIES = (("i", sagemaker_query),)
# An async key's backlog: its size ("b") and the no-capacity flag ("z"); SQS has no flag, so its two series (waiting,
# being processed) add up to the size. The ids are distinct from the replicas' ones: one _Points holds them all.
_BACKLOG_QUERIES = {
    BACKLOG_SAGEMAKER: (("b", backlog_query), ("z", no_capacity_query)),
    BACKLOG_SQS: (("b", queue_visible_query), ("q", queue_in_flight_query)),
}
_Points = dict[str, dict[SeriesKey, Series]]  # query kind ("i", "a", "s") -> key -> points


class CloudWatchMetricSource:
    """Fetches every key's three series in ``ceil(3 x keys / 500)`` calls (plus pages), then the in-flight
    fallback for the keys without ``InFlight``.

    Examples
    --------
    >>> source = CloudWatchMetricSource(client=cloudwatch_client)  # doctest: +SKIP
    >>> source.signals([SeriesKey("iris", "v-1")], start, end)  # doctest: +SKIP
    {SeriesKey(api='iris', variant='v-1'): Signals(in_flight=[(1700000000.0, 0.8), ...],
                                                    requests=[(1700000000.0, 12.0, 0.05), ...])}
    """

    def __init__(self, client: CloudWatchClient | None = None, *, sagemaker_fallback: bool = True):
        self._client: CloudWatchClient = client if client is not None else aws.client("cloudwatch")
        self._fallback = sagemaker_fallback
        self.calls = 0  # GetMetricData calls made (pages included), for the tick's summary

    def signals(self, keys: Sequence[SeriesKey], start: datetime, end: datetime) -> dict[SeriesKey, Signals]:
        unique = sorted(set(keys))
        found = self._fetch(unique, _AXON_QUERIES, start, end)
        in_flight = found.get("i", {})
        missing = [key for key in unique if not in_flight.get(key)]
        if self._fallback and missing:
            in_flight.update(self._fetch(missing, _FALLBACK_QUERIES, start, end).get("i", {}))
        for source, kinds in _BACKLOG_QUERIES.items():
            queued = [key for key in unique if key.backlog == source]
            if queued:
                for kind, series in self._fetch(queued, kinds, start, end).items():
                    found.setdefault(kind, {}).update(series)
        result: dict[SeriesKey, Signals] = {}
        for key in unique:
            requests = _request_points(found.get("a", {}).get(key, []), found.get("s", {}).get(key, []))
            backlog = _backlog_points(*(found.get(kind, {}).get(key, []) for kind in "bqz"))
            if in_flight.get(key) or requests or backlog:
                result[key] = Signals(in_flight.get(key, []), requests, backlog)
        return result

    def _fetch(
        self,
        keys: list[SeriesKey],
        kinds: Sequence[tuple[str, Callable[[str, SeriesKey], MetricDataQueryTypeDef]]],
        start: datetime,
        end: datetime,
    ) -> _Points:
        result: _Points = {}
        per_call = MAX_QUERIES_PER_CALL // len(kinds)  # every key's queries in the same call
        for chunk_start in range(0, len(keys), per_call):
            chunk = keys[chunk_start : chunk_start + per_call]
            # ids must start with a lowercase letter and be unique within the call
            by_id = {f"{kind}{i}": (kind, key, build) for i, key in enumerate(chunk) for kind, build in kinds}
            queries = [build(query_id, key) for query_id, (_, key, build) in by_id.items()]
            for page in self._pages(queries, start, end):
                for item in page:
                    kind, key, _ = by_id[item["Id"]]
                    series = result.setdefault(kind, {}).setdefault(key, [])
                    series.extend(
                        (ts.timestamp(), float(v)) for ts, v in zip(item["Timestamps"], item["Values"], strict=True)
                    )
        return {kind: {key: sorted(s) for key, s in series.items() if s} for kind, series in result.items()}

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


def _request_points(arrivals: Series, service: Series) -> RequestSeries:
    """One point per period with an ``Arrivals`` datapoint; its service time is 0.0 when nothing finished in it
    (the runtime sends no ``ServiceTime`` then). A ``ServiceTime`` without arrivals is not a demand point."""
    mean = dict(service)
    return [(start, count, mean.get(start, 0.0)) for start, count in arrivals]


def _backlog_points(size: Series, more: Series, no_capacity: Series) -> BacklogSeries:
    """One point per minute with a backlog datapoint: its size (plus ``more``, SQS's messages being processed) and
    the no-capacity flag (0.0 where SageMaker sent none, or SQS, which has no such metric)."""
    extra, flag = dict(more), dict(no_capacity)
    starts = sorted(set(dict(size)) | set(extra))
    sizes = dict(size)
    return [(at, sizes.get(at, 0.0) + extra.get(at, 0.0), 1.0 if flag.get(at, 0.0) > 0 else 0.0) for at in starts]
