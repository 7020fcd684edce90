"""``ScalerStateStore`` on the registry table (single-table keys from ``axon/registry/keys.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from axon import aws
from axon.autoscaler.errors import AutoscalerError, StateConflictError
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, StoredState
from axon.registry import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET_LIMIT = 100  # BatchGetItem's limit on keys per call
BATCH_WRITE_LIMIT = 25  # BatchWriteItem's limit on requests per call
WRITE_ATTEMPTS = 5  # BatchWriteItem calls per batch while DynamoDB leaves items unprocessed
DECISION_TTL_SECONDS = 14 * 24 * 3600  # decisions expire after two weeks (TTL attribute ``expires_at``)


class DynamoDbScalerStateStore:
    """State item ``pk=API#<api>, sk=SCALER`` holding ``state`` (JSON) and ``revision`` (conditional writes).

    Examples
    --------
    >>> store = DynamoDbScalerStateStore("axon-registry", client=dynamodb_client)  # doctest: +SKIP
    >>> store.save("iris", ScalerState(), expected_revision=None)  # doctest: +SKIP
    1
    """

    def __init__(self, table: str, client: DynamoDBClient | None = None):
        self._table = table
        self._client: DynamoDBClient = client if client is not None else aws.client("dynamodb")

    def load(self, apis: Sequence[str]) -> dict[str, StoredState]:
        found: dict[str, StoredState] = {}
        unique = sorted(set(apis))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_key(api) for api in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    api = item[keys.PARTITION_KEY]["S"].removeprefix("API#")
                    found[api] = StoredState(ScalerState.loads(item["state"]["S"]), int(item["revision"]["N"]))
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def save(self, api: str, state: ScalerState, expected_revision: int | None) -> int:
        revision = (expected_revision or 0) + 1
        item = {**_key(api), "state": {"S": state.dumps()}, "revision": {"N": str(revision)}}
        if expected_revision is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#pk)"}
            condition["ExpressionAttributeNames"] = {"#pk": keys.PARTITION_KEY}
        else:
            condition = {
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeNames": {"#rev": "revision"},
                "ExpressionAttributeValues": {":rev": {"N": str(expected_revision)}},
            }
        try:
            self._client.put_item(TableName=self._table, Item=item, **condition)
        except self._client.exceptions.ConditionalCheckFailedException:
            raise StateConflictError(f"{api}: scaler state changed since it was read") from None
        return revision

    def record(self, record: DecisionRecord) -> None:
        item: dict[str, Any] = {
            keys.PARTITION_KEY: {"S": keys.api_pk(record.api)},
            keys.SORT_KEY: {"S": keys.decision_sk(record.at)},
            keys.TTL_ATTRIBUTE: {"N": str(_epoch(record.at) + DECISION_TTL_SECONDS)},
        }
        for name, value in record.as_item().items():
            item[name] = _attribute(value)
        self._client.put_item(TableName=self._table, Item=item)

    def forget(self, api: str) -> None:
        """Delete the ``SCALER`` item and every ``DECISION#`` item of ``api``."""
        doomed = list(self._keys_of(api))
        for start in range(0, len(doomed), BATCH_WRITE_LIMIT):
            requests: list[Any] = [{"DeleteRequest": {"Key": key}} for key in doomed[start : start + BATCH_WRITE_LIMIT]]
            for _ in range(WRITE_ATTEMPTS):
                response = self._client.batch_write_item(RequestItems={self._table: requests})
                requests = list(response.get("UnprocessedItems", {}).get(self._table, []))
                if not requests:
                    break
            else:
                raise AutoscalerError(
                    f"DynamoDB left {len(requests)} autoscaler items of {api} undeleted; run delete again",
                    code="autoscaler.forget_incomplete",
                )

    def _keys_of(self, api: str) -> Iterator[dict[str, Any]]:
        yield _key(api)
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames={"#pk": keys.PARTITION_KEY, "#sk": keys.SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": keys.api_pk(api)}, ":prefix": {"S": keys.DECISION_PREFIX}},
            ProjectionExpression="#pk, #sk",
        )
        for page in pages:
            yield from page.get("Items", [])


def _key(api: str) -> dict[str, Any]:
    return {keys.PARTITION_KEY: {"S": keys.api_pk(api)}, keys.SORT_KEY: {"S": keys.SCALER}}


def _attribute(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(round(value, 6)) if isinstance(value, float) else str(value)}
    return {"S": str(value)}


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())
