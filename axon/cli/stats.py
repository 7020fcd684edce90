"""Request statistics per API for ``axon get``: CloudWatch on AWS, the local front door in local mode.

On AWS, SageMaker APIs are read from ``AWS/SageMaker`` (the endpoint's variant), ECS APIs from
``AWS/ApplicationELB`` (their production rule's target groups); both with axon's own ``InFlight``, in one batched
GetMetricData.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from axon import names
from axon.cli.errors import StatsUnavailableError, describe

WINDOW_SECONDS = 300  # `axon get` reports the last 5 minutes
_QUERIES_PER_CALL = 500  # GetMetricData's limit


@dataclass(frozen=True)
class ApiStats:
    """What clients see of an API lately; ``None`` where no data point exists."""

    in_flight: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    count_2xx: int | None = None
    count_4xx: int | None = None
    count_5xx: int | None = None


@dataclass(frozen=True)
class AlbTargets:
    """Where an ECS API's requests are counted: its production rule's target groups, as CloudWatch names them."""

    load_balancer: str  # the ``LoadBalancer`` dimension: ``app/<name>/<id>``
    target_groups: tuple[str, ...]  # ``TargetGroup`` dimensions: ``targetgroup/<name>/<id>`` (blue and green)


class StatsSource(Protocol):
    def fetch(self, apis: Sequence[str], ecs: Mapping[str, AlbTargets] | None = None) -> dict[str, ApiStats]:
        """Statistics of each API that has any; APIs without data are left out (shown as dashes).

        ``ecs``: the target groups of the ECS APIs among ``apis`` (AWS); the others are SageMaker endpoints.
        """


# ---- AWS: one batched GetMetricData ---------------------------------------------------------------------------

_SAGEMAKER = "AWS/SageMaker"
_ELB = "AWS/ApplicationELB"
# (query suffix, namespace, metric, statistic, period seconds)
_IN_FLIGHT = ("inflight", names.METRIC_NAMESPACE, names.IN_FLIGHT_METRIC, "Average", 60)
_METRICS = (
    _IN_FLIGHT,
    ("p50", _SAGEMAKER, "ModelLatency", "p50", WINDOW_SECONDS),
    ("p99", _SAGEMAKER, "ModelLatency", "p99", WINDOW_SECONDS),
    ("calls", _SAGEMAKER, "Invocations", "Sum", WINDOW_SECONDS),
    ("e4xx", _SAGEMAKER, "Invocation4XXErrors", "Sum", WINDOW_SECONDS),
    ("e5xx", _SAGEMAKER, "Invocation5XXErrors", "Sum", WINDOW_SECONDS),
)
# Per target group of an ECS API (ids ``a<index>_t<group>_<suffix>``); TargetResponseTime is in seconds.
_ALB_METRICS = (
    ("p50", "TargetResponseTime", "p50"),
    ("p99", "TargetResponseTime", "p99"),
    ("calls", "RequestCount", "Sum"),
    ("c2xx", "HTTPCode_Target_2XX_Count", "Sum"),
    ("c4xx", "HTTPCode_Target_4XX_Count", "Sum"),
    ("c5xx", "HTTPCode_Target_5XX_Count", "Sum"),
)


def _dimensions(namespace: str, api: str) -> list[dict[str, str]]:
    if namespace == names.METRIC_NAMESPACE:
        return [{"Name": "Api", "Value": api}, {"Name": "Variant", "Value": names.VARIANT_NAME}]
    return [
        {"Name": "EndpointName", "Value": names.endpoint_name(api)},
        {"Name": "VariantName", "Value": names.VARIANT_NAME},
    ]


def _query(
    query_id: str, namespace: str, metric: str, dimensions: list[dict[str, str]], stat: str, period: int
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _api_queries(index: int, api: str, alb: AlbTargets | None) -> list[dict[str, Any]]:
    if alb is None:
        return [
            _query(f"a{index}_{suffix}", namespace, metric, _dimensions(namespace, api), stat, period)
            for suffix, namespace, metric, stat, period in _METRICS
        ]
    suffix, namespace, metric, stat, period = _IN_FLIGHT
    queries = [_query(f"a{index}_{suffix}", namespace, metric, _dimensions(namespace, api), stat, period)]
    for group_index, group in enumerate(alb.target_groups):
        dimensions = [{"Name": "LoadBalancer", "Value": alb.load_balancer}, {"Name": "TargetGroup", "Value": group}]
        queries += [
            _query(f"a{index}_t{group_index}_{suffix}", _ELB, metric, dimensions, stat, WINDOW_SECONDS)
            for suffix, metric, stat in _ALB_METRICS
        ]
    return queries


def metric_queries(apis: Sequence[str], ecs: Mapping[str, AlbTargets] | None = None) -> list[dict[str, Any]]:
    """Six queries per SageMaker API; per ECS API, InFlight and six per target group. Ids are
    ``a<index>_<metric>`` and ``a<index>_t<group>_<metric>`` (GetMetricData ids start with a lowercase letter)."""
    ecs = ecs or {}
    return [query for index, api in enumerate(apis) for query in _api_queries(index, api, ecs.get(api))]


def stats_from_values(values: Mapping[str, float]) -> ApiStats:
    """One API's statistics from its newest value per metric; latency in microseconds becomes milliseconds."""

    def count(key: str) -> int | None:
        return int(values[key]) if key in values else None

    calls, e4xx, e5xx = count("calls"), count("e4xx"), count("e5xx")
    # Invocations counts every request, errors included, so 2xx is what remains.
    ok = max(calls - (e4xx or 0) - (e5xx or 0), 0) if calls is not None else None
    p50, p99 = values.get("p50"), values.get("p99")
    return ApiStats(
        in_flight=values.get("inflight"),
        p50_ms=p50 / 1000 if p50 is not None else None,
        p99_ms=p99 / 1000 if p99 is not None else None,
        count_2xx=ok,
        count_4xx=e4xx,
        count_5xx=e5xx,
    )


def alb_stats_from_values(values: Mapping[str, float], groups: int) -> ApiStats:
    """An ECS API's statistics from its target groups' newest values (``t<group>_<metric>`` keys).

    Counts are summed over the groups (blue and green: the API's requests). The ALB publishes a count only when it
    is not zero, so once a group reports any request, a missing count is 0. Percentiles cannot be merged: the
    slowest group's is shown, as locally. ``TargetResponseTime`` is in seconds.
    """

    def per_group(suffix: str) -> list[float]:
        return [values[key] for g in range(groups) if (key := f"t{g}_{suffix}") in values]

    counted = any(per_group(suffix) for suffix in ("calls", "c2xx", "c4xx", "c5xx"))

    def total(suffix: str) -> int | None:
        return int(sum(per_group(suffix))) if counted else None

    p50, p99 = _largest(list(per_group("p50"))), _largest(list(per_group("p99")))
    return ApiStats(
        in_flight=values.get("inflight"),
        p50_ms=p50 * 1000 if p50 is not None else None,
        p99_ms=p99 * 1000 if p99 is not None else None,
        count_2xx=total("c2xx"),
        count_4xx=total("c4xx"),
        count_5xx=total("c5xx"),
    )


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CloudWatchStats:
    """GetMetricData over the last five minutes, minute-aligned so each windowed statistic is one data point."""

    def __init__(self, cloudwatch: Any, now: Callable[[], float]) -> None:
        self.cloudwatch = cloudwatch
        self.now = now

    def fetch(self, apis: Sequence[str], ecs: Mapping[str, AlbTargets] | None = None) -> dict[str, ApiStats]:
        end = datetime.fromtimestamp(self.now() // 60 * 60, UTC)
        start = end - timedelta(seconds=WINDOW_SECONDS)
        ecs = ecs or {}
        try:
            newest = self._newest_values(metric_queries(apis, ecs), start, end)
        except ClientError as error:
            raise StatsUnavailableError(describe(error)) from error
        found: dict[str, ApiStats] = {}
        for index, api in enumerate(apis):
            prefix = f"a{index}_"
            values = {key[len(prefix) :]: value for key, value in newest.items() if key.startswith(prefix)}
            if values:
                alb = ecs.get(api)
                found[api] = (
                    stats_from_values(values) if alb is None else alb_stats_from_values(values, len(alb.target_groups))
                )
        return found

    def _newest_values(self, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, float]:
        newest: dict[str, float] = {}
        for batch in _chunks(queries, _QUERIES_PER_CALL):
            paginator = self.cloudwatch.get_paginator("get_metric_data")
            pages = paginator.paginate(
                MetricDataQueries=batch, StartTime=start, EndTime=end, ScanBy="TimestampDescending"
            )
            for page in pages:
                for result in page["MetricDataResults"]:
                    if result["Values"] and result["Id"] not in newest:
                        newest[result["Id"]] = float(result["Values"][0])
        return newest


# ---- local: the front door's statistics endpoint ----------------------------------------------------------


def _largest(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def stats_from_variants(body: Mapping[str, Any]) -> ApiStats:
    """Sum the variants' counts; latency percentiles cannot be merged exactly, so take the slowest variant's."""
    variants = list(body.get("variants", {}).values())
    return ApiStats(
        in_flight=sum(float(v.get("in_flight") or 0.0) for v in variants),
        p50_ms=_largest([v.get("p50_ms") for v in variants]),
        p99_ms=_largest([v.get("p99_ms") for v in variants]),
        count_2xx=sum(int(v.get("count_2xx") or 0) for v in variants),
        count_4xx=sum(int(v.get("count_4xx") or 0) for v in variants),
        count_5xx=sum(int(v.get("count_5xx") or 0) for v in variants),
    )


class LocalStats:
    """``GET <local stack><LOCAL_STATS_PATH>/<endpoint>``; a 404 means the endpoint has no statistics yet."""

    def __init__(self, base_url: str, timeout_seconds: float = 2.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise StatsUnavailableError(f"the local stack URL {base_url!r} is not http(s)")
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def fetch(self, apis: Sequence[str], ecs: Mapping[str, AlbTargets] | None = None) -> dict[str, ApiStats]:
        """The front door counts ECS APIs' requests (its local ALB) where it counts SageMaker's: ``ecs`` unused."""
        found = {}
        for api in apis:
            body = self._get(f"{self.base_url}{names.LOCAL_STATS_PATH}/{names.endpoint_name(api)}")
            if body is not None:
                found[api] = stats_from_variants(body)
        return found

    def _get(self, url: str) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as response:  # noqa: S310 (http(s) checked above)
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise StatsUnavailableError(f"{url} answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as error:
            raise StatsUnavailableError(f"{url}: {error}") from error
