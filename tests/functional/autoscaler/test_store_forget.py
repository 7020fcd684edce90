"""``ScalerStateStore.forget``: an API's state and decision timeline go, on DynamoDB and in memory alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon.autoscaler.dynamodb import DynamoDbScalerStateStore
from axon.autoscaler.errors import AutoscalerError
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, InMemoryScalerStateStore, ScalerStateStore
from axon.registry import keys
from axon_local.provision import create_registry_table

TABLE = "axon-registry"
Decisions = Callable[[str], list[str]]  # the decision timestamps kept for an API


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[ScalerStateStore, Decisions]]:
    if request.param == "memory":
        memory = InMemoryScalerStateStore()
        yield memory, lambda api: [d.at for d in memory.decisions if d.api == api]
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, TABLE)

        def decisions(api: str) -> list[str]:
            items = client.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": keys.api_pk(api)}, ":prefix": {"S": keys.DECISION_PREFIX}},
            )["Items"]
            return [str(item["at"]["S"]) for item in items]

        yield DynamoDbScalerStateStore(TABLE, client), decisions


def _decision(api: str, minute: int) -> DecisionRecord:
    at = f"2024-05-01T12:{minute:02d}:00+00:00"
    return DecisionRecord(api, "v-1", at, 1, 2, 1, "load", "scale_out", True, False, False, False, 1.5)


def test_forget_deletes_the_state_and_every_decision_of_that_api_only(
    store: tuple[ScalerStateStore, Decisions],
) -> None:
    states, decisions = store
    for api, count in (("iris", 40), ("wine", 2)):  # 40: more than one BatchWriteItem
        states.save(api, ScalerState(), expected_revision=None)
        for minute in range(count):
            states.record(_decision(api, minute))
    states.forget("iris")
    assert states.load(["iris", "wine"]).keys() == {"wine"}
    assert decisions("iris") == [] and len(decisions("wine")) == 2
    assert states.save("iris", ScalerState(), expected_revision=None) == 1  # a redeploy starts from scratch


def test_forget_of_an_unknown_api_is_a_no_op(store: tuple[ScalerStateStore, Decisions]) -> None:
    states, _ = store
    states.forget("ghost")
    assert states.load(["ghost"]) == {}


def test_items_dynamodb_keeps_unprocessed_are_an_error_after_retries() -> None:
    class Stubborn:
        def __init__(self) -> None:
            self.calls = 0

        def get_paginator(self, _: str) -> Any:
            class Pages:
                def paginate(self, **_: Any) -> list[dict[str, Any]]:
                    return [{"Items": []}]

            return Pages()

        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            return {"UnprocessedItems": RequestItems}

    client = Stubborn()
    with pytest.raises(AutoscalerError, match="1 autoscaler items of iris undeleted"):
        DynamoDbScalerStateStore(TABLE, client).forget("iris")  # type: ignore[arg-type]
    assert client.calls == 5
