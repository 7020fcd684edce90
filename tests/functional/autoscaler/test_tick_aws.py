"""tick() against moto: CloudWatch metrics in, DynamoDB state kept across runs, a fake Platform applies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon.autoscaler.cloudwatch import CloudWatchMetricSource
from axon.autoscaler.dynamodb import DynamoDbScalerStateStore
from axon.autoscaler.errors import StateConflictError
from axon.autoscaler.state import ScalerState
from axon.autoscaler.tick import LiveApi, TickSettings, TickSummary, tick
from axon.platforms.base import Capacity
from axon.registry import keys
from axon.spec import load_spec_text
from tests.unit.autoscaler.fakes import FakePlatform

TABLE = "axon-registry-test"
SPEC = load_spec_text("autoscaling: {max_replicas: 20}")
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": keys.PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": keys.SORT_KEY, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb, boto3.client("cloudwatch", region_name="us-east-1")


def put_minute(cloudwatch: Any, api: str, total: float, end: datetime) -> None:
    """Six 10-s windows of one serving process: the Sum of each period is ``total``."""
    dims = [{"Name": "Api", "Value": api}, {"Name": "Variant", "Value": "v-1"}]
    cloudwatch.put_metric_data(
        Namespace=names.api_metric_namespace(api),
        MetricData=[
            {
                "MetricName": names.IN_FLIGHT_METRIC,
                "Dimensions": dims,
                "Timestamp": end - timedelta(seconds=25 + 10 * i),
                "Value": total,
                "StorageResolution": 1,
            }
            for i in range(6)
        ],
    )


def run(aws: tuple[Any, Any], platform: FakePlatform, at: datetime, dry_run: bool = False) -> TickSummary:
    dynamodb, cloudwatch = aws
    return tick(
        now=at,
        live_apis=lambda: [LiveApi(api, SPEC, "sagemaker") for api in sorted(platform.capacities)],
        platform_for=lambda _: platform,
        metrics=CloudWatchMetricSource(client=cloudwatch, sagemaker_fallback=False),
        store=DynamoDbScalerStateStore(TABLE, client=dynamodb),
        settings=TickSettings(max_total_replicas=100, dry_run=dry_run),
    )


def scaler_item(dynamodb: Any, api: str) -> dict[str, Any]:
    key = {keys.PARTITION_KEY: {"S": keys.api_pk(api)}, keys.SORT_KEY: {"S": keys.SCALER}}
    return dict(dynamodb.get_item(TableName=TABLE, Key=key)["Item"])


def decisions(dynamodb: Any, api: str) -> list[dict[str, Any]]:
    response = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": keys.api_pk(api)}, ":d": {"S": keys.DECISION_PREFIX}},
    )
    return list(response["Items"])


def test_metrics_scale_out_and_state_is_kept_across_two_runs(aws: tuple[Any, Any]) -> None:
    dynamodb, cloudwatch = aws
    platform = FakePlatform(capacities={"iris": Capacity("v-1", 2, 2, True), "calm": Capacity("v-1", 3, 3, True)})
    put_minute(cloudwatch, "iris", 3.0, NOW)  # 3 in flight on 2 replicas
    put_minute(cloudwatch, "calm", 3.0, NOW)
    first = run(aws, platform, NOW)
    assert platform.calls == [("iris", "v-1", 3)] and not first.errors
    state = ScalerState.loads(scaler_item(dynamodb, "iris")["state"]["S"])
    assert len(state.recommendations) == 6 and state.provisioning is not None
    assert scaler_item(dynamodb, "iris")["revision"] == {"N": "1"}

    later = NOW + timedelta(minutes=1)
    put_minute(cloudwatch, "iris", 2.0, later)
    put_minute(cloudwatch, "calm", 3.0, later)
    second = run(aws, platform, later)
    assert not second.errors
    kept = ScalerState.loads(scaler_item(dynamodb, "iris")["state"]["S"])
    assert kept.started_at == state.started_at and len(kept.recommendations) == 12
    assert scaler_item(dynamodb, "iris")["revision"] == {"N": "2"}
    items = decisions(dynamodb, "iris")
    assert len(items) == 2 and all(keys.TTL_ATTRIBUTE in item for item in items)
    assert items[0]["applied"] == {"BOOL": True} and items[0]["desired"] == {"N": "3"}


def test_non_in_service_endpoint_is_skipped_and_a_failing_api_does_not_stop_others(aws: tuple[Any, Any]) -> None:
    _, cloudwatch = aws
    platform = FakePlatform(
        capacities={
            "updating": Capacity("v-1", 2, 2, can_change=False, status="Updating"),
            "ok": Capacity("v-1", 2, 2, True),
        },
        fail={"broken"},
    )
    platform.capacities["broken"] = Capacity("v-1", 2, 2, True)
    for api in ("updating", "ok", "broken"):
        put_minute(cloudwatch, api, 3.0, NOW)
    summary = run(aws, platform, NOW)
    assert platform.calls == [("ok", "v-1", 3)]
    assert list(summary.errors) == ["broken"]
    assert {r.api: r.reason for r in summary.records}["updating"] == "platform_busy"


def test_dry_run_records_without_applying(aws: tuple[Any, Any]) -> None:
    dynamodb, cloudwatch = aws
    platform = FakePlatform(capacities={"iris": Capacity("v-1", 2, 2, True)})
    put_minute(cloudwatch, "iris", 3.0, NOW)
    run(aws, platform, NOW, dry_run=True)
    assert platform.calls == []
    [item] = decisions(dynamodb, "iris")
    assert (item["desired"], item["applied"], item["dry_run"]) == ({"N": "3"}, {"BOOL": False}, {"BOOL": True})


def test_conditional_write_refuses_a_stale_revision(aws: tuple[Any, Any]) -> None:
    dynamodb, _ = aws
    store = DynamoDbScalerStateStore(TABLE, client=dynamodb)
    assert store.save("iris", ScalerState(), expected_revision=None) == 1
    with pytest.raises(StateConflictError):
        store.save("iris", ScalerState(), expected_revision=None)
    assert store.save("iris", ScalerState(started_at=1.0), expected_revision=1) == 2
    with pytest.raises(StateConflictError):
        store.save("iris", ScalerState(), expected_revision=1)
    assert store.load(["iris", "absent"])["iris"].state.started_at == 1.0
