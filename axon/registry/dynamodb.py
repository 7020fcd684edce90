"""The registry on one DynamoDB table: versions, timelines and the per-API rollout lease.

Every write that decides something (a new upload, the lease) is a conditional write, so at-least-once events and
concurrent executions cannot start two rollouts of one API.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from axon.registry import keys
from axon.registry.models import (
    ApiRecord,
    Reason,
    TimelineEvent,
    Upload,
    VersionRecord,
    VersionStatus,
    utc_now,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_EVENT_TTL_SECONDS = 180 * 24 * 3600


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


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _update_expression(fields: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``SET``/``REMOVE`` expression for ``fields`` (``None`` removes the attribute), with safe aliases."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    sets = [f"#f{i} = :f{i}" for i, value in enumerate(fields.values()) if value is not None]
    removals = [f"#f{i}" for i, value in enumerate(fields.values()) if value is None]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removals) if removals else "")
    values = _to_item({f":f{i}": value for i, value in enumerate(fields.values()) if value is not None})
    return expression, names, values


def upload_digest(upload: Upload) -> str:
    return hashlib.sha256(f"{upload.bucket}\0{upload.key}\0{upload.version_id}".encode()).hexdigest()


class DynamoDBRegistry:
    """Registry adapter. ``client`` is injected (tests and local mode pass theirs)."""

    def __init__(self, table: str, client: DynamoDBClient) -> None:
        self.table = table
        self.client = client

    # ---- uploads and versions -------------------------------------------------------------------------------

    def register_upload(self, upload: Upload) -> tuple[VersionRecord, bool]:
        """Record an upload once. Returns the version and whether this call created it.

        A duplicated event finds the dedup item and gets the version created the first time.
        """
        dedup_key = {keys.PARTITION_KEY: keys.upload_pk(upload_digest(upload)), keys.SORT_KEY: "UPLOAD"}
        existing = self._get(dedup_key)
        if existing is not None:
            return self.get_version(upload.api, int(existing["seq"])), False
        seq = self._next_seq(upload.api)
        record = VersionRecord(
            api=upload.api,
            seq=seq,
            version=f"v{seq}",
            version_id=upload.version_id,
            bucket=upload.bucket,
            key=upload.key,
            s3_uri=upload.s3_uri,
            etag=upload.etag,
            size=upload.size,
        )
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_to_item({**dedup_key, "seq": seq, "api": upload.api}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            # A concurrent duplicate won the race; the sequence number we drew stays unused.
            winner = self._get(dedup_key)
            assert winner is not None
            return self.get_version(upload.api, int(winner["seq"])), False
        self._put_version(record)
        self.add_event(upload.api, seq, "uploaded", f"{upload.s3_uri} ({upload.size} bytes)")
        return record, True

    def _next_seq(self, api: str) -> int:
        now = utc_now()
        response = self.client.update_item(
            TableName=self.table,
            Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META}),
            UpdateExpression=(
                "ADD next_seq :one SET api = :api, entity = :entity, updated_at = :now, "
                "created_at = if_not_exists(created_at, :now) REMOVE deleted"
            ),
            ExpressionAttributeValues=_to_item({":one": 1, ":api": api, ":entity": keys.API_ENTITY, ":now": now}),
            ReturnValues="UPDATED_NEW",
        )
        return int(_from_item(response["Attributes"])["next_seq"])

    def _put_version(self, record: VersionRecord) -> None:
        data = record.model_dump(mode="json")
        data["spec"] = json.dumps(record.spec) if record.spec is not None else None
        self.client.put_item(
            TableName=self.table,
            Item=_to_item(
                {
                    keys.PARTITION_KEY: keys.api_pk(record.api),
                    keys.SORT_KEY: keys.version_sk(record.seq),
                    **data,
                }
            ),
        )

    @staticmethod
    def _version_from(item: dict[str, Any]) -> VersionRecord:
        data = _from_item(item)
        data.pop(keys.PARTITION_KEY, None)
        data.pop(keys.SORT_KEY, None)
        if isinstance(data.get("spec"), str):
            data["spec"] = json.loads(data["spec"])
        return VersionRecord.model_validate(data)

    def get_version(self, api: str, seq: int) -> VersionRecord:
        item = self._get({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.version_sk(seq)}, raw=True)
        if item is None:
            raise KeyError(f"{api} has no version {seq}")
        return self._version_from(item)

    def find_version(self, api: str, label: str) -> VersionRecord | None:
        """A version by label (``v3``) or S3 VersionId."""
        for record in self.list_versions(api):
            if label in (record.version, record.version_id):
                return record
        return None

    def list_versions(self, api: str) -> list[VersionRecord]:
        return [self._version_from(item) for item in self._query_prefix(api, keys.VERSION_PREFIX)]

    def update_version(self, api: str, seq: int, **fields: Any) -> VersionRecord:
        """Set fields on a version (``updated_at`` too) and return the new record."""
        fields["updated_at"] = utc_now()
        if "spec" in fields and fields["spec"] is not None:
            fields["spec"] = json.dumps(fields["spec"])
        if isinstance(fields.get("reason"), Reason):
            fields["reason"] = fields["reason"].model_dump()
        if isinstance(fields.get("status"), VersionStatus):
            fields["status"] = fields["status"].value
        expression, names, values = _update_expression(fields)
        response = self.client.update_item(
            TableName=self.table,
            Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.version_sk(seq)}),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_NEW",
        )
        return self._version_from(response["Attributes"])

    def set_status(
        self,
        api: str,
        seq: int,
        status: VersionStatus,
        message: str,
        *,
        reason: Reason | None = None,
        **fields: Any,
    ) -> VersionRecord:
        """Move a version to ``status`` and record it on the timeline."""
        record = self.update_version(api, seq, status=status, reason=reason, **fields)
        data = {"status": status.value, **({"reason": reason.model_dump()} if reason else {})}
        self.add_event(api, seq, "status", message, data)
        return record

    # ---- timeline -------------------------------------------------------------------------------------------

    def add_event(self, api: str, seq: int, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        at = utc_now()
        nonce = int(time.monotonic_ns() % 10_000)
        self.client.put_item(
            TableName=self.table,
            Item=_to_item(
                {
                    keys.PARTITION_KEY: keys.api_pk(api),
                    keys.SORT_KEY: keys.event_sk(seq, at, nonce),
                    "api": api,
                    "seq": seq,
                    "at": at,
                    "kind": kind,
                    "message": message,
                    "data": json.dumps(data or {}),
                    keys.TTL_ATTRIBUTE: int(time.time()) + _EVENT_TTL_SECONDS,
                }
            ),
        )

    def timeline(self, api: str, seq: int | None = None) -> list[TimelineEvent]:
        prefix = keys.EVENT_PREFIX if seq is None else keys.event_sk(seq, "", 0).rsplit("#", 2)[0] + "#"
        events = []
        for item in self._query_prefix(api, prefix):
            data = _from_item(item)
            events.append(
                TimelineEvent(
                    api=data["api"],
                    seq=data["seq"],
                    at=data["at"],
                    kind=data["kind"],
                    message=data["message"],
                    data=json.loads(data.get("data") or "{}"),
                )
            )
        return events

    # ---- APIs and the rollout lease -------------------------------------------------------------------------

    def get_api(self, api: str) -> ApiRecord | None:
        data = self._get({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META})
        if data is None:
            return None
        return ApiRecord.model_validate(data)

    def list_apis(self, *, include_deleted: bool = False) -> list[ApiRecord]:
        """Every API, through the sparse entity index (no table scan)."""
        paginator = self.client.get_paginator("query")
        records = []
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=keys.ENTITY_INDEX,
            KeyConditionExpression="entity = :entity",
            ExpressionAttributeValues=_to_item({":entity": keys.API_ENTITY}),
        ):
            for item in page.get("Items", []):
                record = ApiRecord.model_validate(_from_item(item))
                if include_deleted or not record.deleted:
                    records.append(record)
        return sorted(records, key=lambda r: r.api)

    def update_api(self, api: str, **fields: Any) -> None:
        fields["updated_at"] = utc_now()
        expression, names, values = _update_expression(fields)
        self.client.update_item(
            TableName=self.table,
            Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META}),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def acquire_lease(self, api: str, owner: str, seq: int, lease_seconds: int, now: float | None = None) -> bool:
        """Take the API's rollout lease for ``owner`` (an execution name). Idempotent for the same owner.

        Succeeds when nobody holds it, ``owner`` already holds it, or the holder's lease expired (a crashed
        execution cannot wedge the API).
        """
        current = int(now if now is not None else time.time())
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META}),
                UpdateExpression="SET lease_owner = :owner, lease_expires_at = :expires, rolling_seq = :seq",
                ConditionExpression=(
                    "attribute_not_exists(lease_owner) OR lease_owner = :owner OR lease_expires_at < :now"
                ),
                ExpressionAttributeValues=_to_item(
                    {":owner": owner, ":expires": current + lease_seconds, ":now": current, ":seq": seq}
                ),
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def transfer_lease(self, api: str, owner: str, successor: str, seq: int, lease_seconds: int) -> bool:
        """Hand the lease straight to the next rollout, so no new upload can slip in between."""
        now = int(time.time())
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META}),
                UpdateExpression="SET lease_owner = :successor, lease_expires_at = :expires, rolling_seq = :seq",
                ConditionExpression="lease_owner = :owner OR lease_owner = :successor",
                ExpressionAttributeValues=_to_item(
                    {":owner": owner, ":successor": successor, ":expires": now + lease_seconds, ":seq": seq}
                ),
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def release_lease(self, api: str, owner: str) -> bool:
        """Give the lease back; a no-op (False) when ``owner`` no longer holds it."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_to_item({keys.PARTITION_KEY: keys.api_pk(api), keys.SORT_KEY: keys.META}),
                UpdateExpression="REMOVE lease_owner, lease_expires_at, rolling_seq",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues=_to_item({":owner": owner}),
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    # ---- low level ------------------------------------------------------------------------------------------

    def _get(self, key: dict[str, str], *, raw: bool = False) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table, Key=_to_item(key), ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        return item if raw else _from_item(item)

    def _query_prefix(self, api: str, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": keys.api_pk(api), ":prefix": prefix}),
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])
