"""The registry on one DynamoDB table: the store behind :class:`~axon.registry.base.Registry` on AWS and locally.

Writes become ``UpdateItem``/``PutItem`` with condition expressions, and a group of writes one
``TransactWriteItems``; a failed condition (alone or inside a transaction) becomes ``ConditionFailedError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from axon.registry import keys
from axon.registry.base import Registry
from axon.registry.writes import (
    AllOf,
    AnyOf,
    Condition,
    ConditionFailedError,
    Equals,
    Item,
    ItemAbsent,
    ItemExists,
    Key,
    LessThan,
    Missing,
    Put,
    Update,
    Write,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_CONDITION_FAILED = {"ConditionalCheckFailedException"}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def _from_item(item: dict[str, Any]) -> Item:
    return {
        k: _plain(_deserializer.deserialize(v)) for k, v in item.items() if k not in (keys.PARTITION_KEY, keys.SORT_KEY)
    }


def _key(key: Key) -> dict[str, Any]:
    return _to_item({keys.PARTITION_KEY: key.pk, keys.SORT_KEY: key.sk})


@dataclass
class _Expression:
    """Aliases for one request's names and values: every attribute goes through ``#n``/``:v`` placeholders."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attribute: str) -> str:
        alias = f"#n{len(self.names)}"
        self.names[alias] = attribute
        return alias

    def value(self, value: Any) -> str:
        alias = f":v{len(self.values)}"
        self.values[alias] = value
        return alias

    def condition(self, condition: Condition) -> str:
        match condition:
            case ItemExists():
                return f"attribute_exists({self.name(keys.PARTITION_KEY)})"
            case ItemAbsent():
                return f"attribute_not_exists({self.name(keys.PARTITION_KEY)})"
            case Equals(name, value):
                return f"{self.name(name)} = {self.value(value)}"
            case Missing(name):
                return f"attribute_not_exists({self.name(name)})"
            case LessThan(name, value):
                return f"{self.name(name)} < {self.value(value)}"
            case AnyOf(conditions):
                return "(" + " OR ".join(self.condition(c) for c in conditions) + ")"
            case AllOf(conditions):
                return "(" + " AND ".join(self.condition(c) for c in conditions) + ")"
        raise TypeError(f"not a condition: {condition!r}")

    def update(self, update: Update) -> str:
        sets = [f"{self.name(n)} = {self.value(v)}" for n, v in update.set.items() if v is not None]
        sets += [
            f"{(a := self.name(n))} = if_not_exists({a}, {self.value(v)})" for n, v in update.set_if_absent.items()
        ]
        removes = [self.name(n) for n, v in update.set.items() if v is None]
        adds = [f"{self.name(n)} {self.value(v)}" for n, v in update.add.items()]
        clauses = [("SET", sets), ("REMOVE", removes), ("ADD", adds)]
        return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)

    def request(self, condition: Condition | None) -> dict[str, Any]:
        """The condition, names and values parts of a request (after every alias is made)."""
        request: dict[str, Any] = {}
        if condition is not None:
            request["ConditionExpression"] = self.condition(condition)
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = _to_item(self.values)
        return request


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    if code in _CONDITION_FAILED:
        return True
    reasons = error.response.get("CancellationReasons") or []
    return code == "TransactionCanceledException" and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class DynamoDBRegistry(Registry):
    """Registry store on the ``axon-registry`` table. ``client`` is injected (tests and local mode pass theirs)."""

    def __init__(self, table: str, client: DynamoDBClient, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.table = table
        self.client = client

    def _get(self, key: Key) -> Item | None:
        item = self.client.get_item(TableName=self.table, Key=_key(key), ConsistentRead=True).get("Item")
        return _from_item(item) if item is not None else None

    def _query(self, pk: str, sk_prefix: str) -> Iterator[Item]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": pk, ":prefix": sk_prefix}),
            ConsistentRead=True,
        ):
            yield from (_from_item(item) for item in page.get("Items", []))

    def _api_items(self) -> Iterator[Item]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=keys.ENTITY_INDEX,
            KeyConditionExpression="entity = :entity",
            ExpressionAttributeValues=_to_item({":entity": keys.API_ENTITY}),
        ):
            yield from (_from_item(item) for item in page.get("Items", []))

    def _update_request(self, update: Update) -> dict[str, Any]:
        expression = _Expression()
        text = expression.update(update)
        return {"Key": _key(update.key), "UpdateExpression": text, **expression.request(update.condition)}

    def _put_request(self, put: Put) -> dict[str, Any]:
        expression = _Expression()
        item = _to_item({keys.PARTITION_KEY: put.key.pk, keys.SORT_KEY: put.key.sk, **put.item})
        return {"Item": item, **expression.request(put.condition)}

    def _update(self, update: Update) -> Item:
        try:
            response = self.client.update_item(
                TableName=self.table, ReturnValues="ALL_NEW", **self._update_request(update)
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailedError(str(error)) from error
            raise
        return _from_item(response["Attributes"])

    def _write(self, writes: Sequence[Write]) -> None:
        try:
            if len(writes) == 1 and isinstance(writes[0], Put):
                self.client.put_item(TableName=self.table, **self._put_request(writes[0]))
            elif len(writes) == 1 and isinstance(writes[0], Update):
                self.client.update_item(TableName=self.table, **self._update_request(writes[0]))
            else:
                self.client.transact_write_items(TransactItems=[self._transact_item(w) for w in writes])
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailedError(str(error)) from error
            raise

    def _transact_item(self, write: Write) -> Any:
        if isinstance(write, Put):
            return {"Put": {"TableName": self.table, **self._put_request(write)}}
        return {"Update": {"TableName": self.table, **self._update_request(write)}}
