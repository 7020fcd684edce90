"""Request statistics per API for ``axon get``: CloudWatch on AWS, the local front door in local mode."""

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


class StatsSource(Protocol):
    def fetch(self, apis: Sequence[str]) -> dict[str, ApiStats]:
        """Statistics of each API that has any; APIs without data are left out (shown as dashes)."""


# ---- AWS: one batched GetMetricData ---------------------------------------------------------------------------

_SAGEMAKER = "AWS/SageMaker"
# (query suffix, namespace, metric, statistic, period seconds)
_METRICS = (
    ("inflight", names.METRIC_NAMESPACE, names.IN_FLIGHT_METRIC, "Average", 60),
    ("p50", _SAGEMAKER, "ModelLatency", "p50", WINDOW_SECONDS),
    ("p99", _SAGEMAKER, "ModelLatency", "p99", WINDOW_SECONDS),
    ("calls", _SAGEMAKER, "Invocations", "Sum", WINDOW_SECONDS),
    ("e4xx", _SAGEMAKER, "Invocation4XXErrors", "Sum", WINDOW_SECONDS),
    ("e5xx", _SAGEMAKER, "Invocation5XXErrors", "Sum", WINDOW_SECONDS),
)


def _dimensions(namespace: str, api: str) -> list[dict[str, str]]:
    if namespace == names.METRIC_NAMESPACE:
        return [{"Name": "Api", "Value": api}, {"Name": "Variant", "Value": names.VARIANT_NAME}]
    return [
        {"Name": "EndpointName", "Value": names.endpoint_name(api)},
        {"Name": "VariantName", "Value": names.VARIANT_NAME},
    ]


def metric_queries(apis: Sequence[str]) -> list[dict[str, Any]]:
    """Six queries per API; ids are ``a<index>_<metric>`` (GetMetricData ids must start with a lowercase letter)."""
    return [
        {
            "Id": f"a{index}_{suffix}",
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": _dimensions(namespace, api)},
                "Period": period,
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for index, api in enumerate(apis)
        for suffix, namespace, metric, stat, period in _METRICS
    ]


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


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CloudWatchStats:
    """GetMetricData over the last five minutes, minute-aligned so each windowed statistic is one data point."""

    def __init__(self, cloudwatch: Any, now: Callable[[], float]) -> None:
        self.cloudwatch = cloudwatch
        self.now = now

    def fetch(self, apis: Sequence[str]) -> dict[str, ApiStats]:
        end = datetime.fromtimestamp(self.now() // 60 * 60, UTC)
        start = end - timedelta(seconds=WINDOW_SECONDS)
        try:
            newest = self._newest_values(apis, start, end)
        except ClientError as error:
            raise StatsUnavailableError(describe(error)) from error
        found: dict[str, ApiStats] = {}
        for index, api in enumerate(apis):
            prefix = f"a{index}_"
            values = {key[len(prefix) :]: value for key, value in newest.items() if key.startswith(prefix)}
            if values:
                found[api] = stats_from_values(values)
        return found

    def _newest_values(self, apis: Sequence[str], start: datetime, end: datetime) -> dict[str, float]:
        newest: dict[str, float] = {}
        for batch in _chunks(metric_queries(apis), _QUERIES_PER_CALL):
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

    def fetch(self, apis: Sequence[str]) -> dict[str, ApiStats]:
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
