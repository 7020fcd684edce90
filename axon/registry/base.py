"""The registry's logic: uploads, versions, timelines, the commit to live and the per-API rollout lease.

As in Powertools' idempotency persistence layer, the logic lives here over a few abstract I/O methods, and a
store only moves items: :class:`~axon.registry.dynamodb.DynamoDBRegistry` on AWS and the local stack,
:class:`~axon.registry.memory.InMemoryRegistry` for unit tests. Every write that decides something (a new upload,
the lease, going live) is conditional, and the writes that must not be seen half-done are one transaction.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from axon.registry import keys
from axon.registry.models import ApiRecord, Reason, TimelineEvent, Upload, VersionRecord, VersionStatus, utc_now
from axon.registry.writes import (
    AllOf,
    AnyOf,
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
from axon.spec import ApiSpec

EVENT_TTL_SECONDS = 180 * 24 * 3600
_EVENT_COUNTER = itertools.count()
_KEY_ATTRIBUTES = (keys.PARTITION_KEY, keys.SORT_KEY)
# Counts registered uploads; a lease hand-off is conditional on it, so no upload registers unseen in between.
REGISTERED_UPLOADS = "registered_uploads"


class LeaseMove(StrEnum):
    """How a conditional lease hand-off ended."""

    MOVED = "moved"  # released or handed on
    LOST = "lost"  # the caller no longer held it: nothing changed
    RACED = "raced"  # an upload registered since the caller looked: look again


def upload_digest(upload: Upload) -> str:
    return hashlib.sha256(f"{upload.bucket}\0{upload.key}\0{upload.version_id}".encode()).hexdigest()


def _meta(api: str) -> Key:
    return Key(keys.api_pk(api), keys.META)


def _version_key(api: str, seq: int) -> Key:
    return Key(keys.api_pk(api), keys.version_sk(seq))


def _dedup_key(upload: Upload) -> Key:
    return Key(keys.upload_pk(upload_digest(upload)), "UPLOAD")


def spec_text(spec: ApiSpec) -> str:
    """The spec as the version item stores it: ``json.dumps`` of its JSON-mode dump (field order, default
    separators), unchanged since the spec was a plain dict on the record."""
    return json.dumps(spec.model_dump(mode="json"))


def _version_item(record: VersionRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    data["spec"] = spec_text(record.spec) if record.spec is not None else None
    return {k: v for k, v in data.items() if v is not None}


def _version_from(item: Item) -> VersionRecord:
    """A version record from its item; its spec (a JSON string, or a map in older items) is parsed here, once."""
    data = {k: v for k, v in item.items() if k not in _KEY_ATTRIBUTES}
    if isinstance(data.get("spec"), str):
        data["spec"] = json.loads(data["spec"])
    return VersionRecord.model_validate(data)


def _api_from(item: Item) -> ApiRecord:
    return ApiRecord.model_validate({k: v for k, v in item.items() if k not in _KEY_ATTRIBUTES})


class Registry(ABC):
    """Registry logic over a store's I/O. ``clock`` (epoch seconds) is injected so tests can move time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    # ---- the store's I/O --------------------------------------------------------------------------------------

    @abstractmethod
    def _get(self, key: Key) -> Item | None:
        """The item at ``key`` (strongly consistent), without its key attributes; ``None`` if absent."""

    @abstractmethod
    def _query(self, pk: str, sk_prefix: str) -> Iterator[Item]:
        """Items of partition ``pk`` whose sort key starts with ``sk_prefix``, in sort-key order."""

    @abstractmethod
    def _api_items(self) -> Iterator[Item]:
        """Every API meta item (the sparse entity index on DynamoDB)."""

    @abstractmethod
    def _update(self, update: Update) -> Item:
        """Apply one update and return the item after it; ``ConditionFailedError`` when its condition fails."""

    @abstractmethod
    def _write(self, writes: Sequence[Write]) -> None:
        """Apply every write or none (one transaction); ``ConditionFailedError`` when any condition fails."""

    # ---- uploads and versions ---------------------------------------------------------------------------------

    def register_upload(self, upload: Upload) -> tuple[VersionRecord, bool]:
        """Record an upload once. Returns the version and whether this call created it.

        The dedup item, the version and its first timeline event are written in one transaction, so a crash can
        leave a sequence number unused but never a dedup item without its version.
        """
        existing = self._get(_dedup_key(upload))
        if existing is not None:
            return self.get_version(upload.api, int(existing["seq"])), False
        seq, signal_key = self._next_seq(upload.api)
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
            signal_key=signal_key,
        )
        try:
            self._write(
                [
                    Put(_dedup_key(upload), {"seq": seq, "api": upload.api}, ItemAbsent()),
                    Put(_version_key(upload.api, seq), _version_item(record), ItemAbsent()),
                    Update(_meta(upload.api), add={REGISTERED_UPLOADS: 1}),
                    self._event(upload.api, seq, "uploaded", f"{upload.s3_uri} ({upload.size} bytes)"),
                ]
            )
        except ConditionFailedError:
            winner = self._get(_dedup_key(upload))  # a concurrent duplicate won; our sequence number stays unused
            if winner is None:
                raise
            return self.get_version(upload.api, int(winner["seq"])), False
        return record, True

    def _next_seq(self, api: str) -> tuple[int, str]:
        """The API's next sequence number, and its signal key (``names.SIGNAL_KEY_ENV``): created with the API,
        kept for its life, so every version's replicas publish under the key the autoscaler reads."""
        now = utc_now()
        item = self._update(
            Update(
                _meta(api),
                set={"api": api, keys.ENTITY_ATTRIBUTE: keys.API_ENTITY, "updated_at": now, "deleted": None},
                add={"next_seq": 1},
                set_if_absent={"created_at": now, "signal_key": secrets.token_hex(16)},
            )
        )
        return int(item["next_seq"]), str(item["signal_key"])

    def get_version(self, api: str, seq: int) -> VersionRecord:
        item = self._get(_version_key(api, seq))
        if item is None:
            raise KeyError(f"{api} has no version {seq}")
        return _version_from(item)

    def find_version(self, api: str, label: str) -> VersionRecord | None:
        """A version by label (``v3``) or S3 VersionId."""
        return next((r for r in self.list_versions(api) if label in (r.version, r.version_id)), None)

    def list_versions(self, api: str) -> list[VersionRecord]:
        return [_version_from(item) for item in self._query(keys.api_pk(api), keys.VERSION_PREFIX)]

    def _update_version(self, api: str, seq: int, fields: dict[str, Any]) -> VersionRecord:
        fields["updated_at"] = utc_now()
        return _version_from(self._update(Update(_version_key(api, seq), set=fields, condition=ItemExists())))

    def set_status(
        self,
        api: str,
        seq: int,
        status: VersionStatus,
        message: str,
        *,
        reason: Reason | None = None,
        traffic_percent: int | None = None,
    ) -> VersionRecord:
        """Move a version to ``status`` (clearing any earlier reason) and record it on the timeline."""
        fields: dict[str, Any] = {"status": status.value, "reason": reason.model_dump() if reason else None}
        if traffic_percent is not None:
            fields["traffic_percent"] = traffic_percent
        record = self._update_version(api, seq, fields)
        data = {"status": status.value, **({"reason": reason.model_dump()} if reason else {})}
        self.add_event(api, seq, "status", message, data)
        return record

    def record_validation(
        self, api: str, seq: int, *, spec: ApiSpec, spec_digest: str, image_key: str, model_data_uri: str
    ) -> VersionRecord:
        """What validation learnt: the parsed spec, its image key and the immutable bundle copy."""
        return self._update_version(
            api,
            seq,
            {
                "spec": spec_text(spec),
                "spec_digest": spec_digest,
                "image_key": image_key,
                "model_data_uri": model_data_uri,
            },
        )

    def set_image(self, api: str, seq: int, image_uri: str) -> VersionRecord:
        return self._update_version(api, seq, {"image_uri": image_uri})

    def mark_queued(self, api: str, seq: int) -> VersionRecord:
        return self._update_version(api, seq, {"queued": True})

    # ---- timeline ---------------------------------------------------------------------------------------------

    def _event(self, api: str, seq: int, kind: str, message: str, data: dict[str, Any] | None = None) -> Put:
        now = datetime.now(UTC)
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        # Microseconds order events across writers; the per-process counter orders events written in the same
        # microsecond by one writer, and the random suffix keeps two writers' keys from colliding.
        tiebreak = f"{next(_EVENT_COUNTER) % 1_000_000:06d}{secrets.token_hex(2)}"
        written = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
        item = {
            "api": api,
            "seq": seq,
            "at": at,
            "kind": kind,
            "message": message,
            "data": json.dumps(data or {}),
            keys.TTL_ATTRIBUTE: int(self.clock()) + EVENT_TTL_SECONDS,
        }
        return Put(Key(keys.api_pk(api), keys.event_sk(seq, written, tiebreak)), item)

    def add_event(self, api: str, seq: int, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self._write([self._event(api, seq, kind, message, data)])

    def timeline(self, api: str, seq: int | None = None) -> list[TimelineEvent]:
        prefix = keys.EVENT_PREFIX if seq is None else keys.event_prefix(seq)
        return [
            TimelineEvent(
                api=item["api"],
                seq=item["seq"],
                at=item["at"],
                kind=item["kind"],
                message=item["message"],
                data=json.loads(item.get("data") or "{}"),
            )
            for item in self._query(keys.api_pk(api), prefix)
        ]

    # ---- APIs -------------------------------------------------------------------------------------------------

    def get_api(self, api: str) -> ApiRecord | None:
        item = self._get(_meta(api))
        return _api_from(item) if item is not None else None

    def list_apis(self, *, include_deleted: bool = False) -> list[ApiRecord]:
        records = [_api_from(item) for item in self._api_items()]
        return sorted((r for r in records if include_deleted or not r.deleted), key=lambda r: r.api)

    def go_live(
        self, api: str, seq: int, *, owner: str, platform: str, previous_seq: int | None, label: str
    ) -> VersionRecord:
        """The commit point of a rollout: the API points at ``seq``, which is live, and the previous one is
        superseded, in one transaction. Only the lease holder commits; committing again is a no-op."""
        now = utc_now()
        writes: list[Write] = [
            Update(
                _meta(api),
                set={"live_seq": seq, "platform": platform, "updated_at": now},
                condition=AnyOf((Equals("lease_owner", owner), Equals("live_seq", seq))),
            ),
            Update(
                _version_key(api, seq),
                set={"status": VersionStatus.LIVE.value, "traffic_percent": 100, "reason": None, "updated_at": now},
                condition=ItemExists(),
            ),
            self._event(api, seq, "status", f"{label} is live", {"status": VersionStatus.LIVE.value}),
        ]
        if previous_seq is not None and previous_seq != seq:
            writes += [
                Update(
                    _version_key(api, previous_seq),
                    set={"status": VersionStatus.SUPERSEDED.value, "traffic_percent": 0, "updated_at": now},
                    condition=ItemExists(),
                ),
                self._event(
                    api, previous_seq, "status", f"replaced by {label}", {"status": VersionStatus.SUPERSEDED.value}
                ),
            ]
        self._write(writes)
        return self.get_version(api, seq)

    def mark_deleted(self, api: str) -> None:
        """``axon delete``: the API serves nothing and is hidden from listings until its next upload."""
        self._update(Update(_meta(api), set={"deleted": True, "live_seq": None, "updated_at": utc_now()}))

    # ---- the rollout lease ------------------------------------------------------------------------------------

    def acquire_lease(self, api: str, owner: str, seq: int, lease_seconds: int) -> bool:
        """Take the API's rollout lease for ``owner`` (an execution name). Idempotent for the same owner.

        Succeeds when nobody holds it, ``owner`` already holds it, or the holder's lease expired.
        """
        now = int(self.clock())
        try:
            self._update(
                Update(
                    _meta(api),
                    set={"lease_owner": owner, "lease_expires_at": now + lease_seconds, "rolling_seq": seq},
                    condition=AnyOf(
                        (Missing("lease_owner"), Equals("lease_owner", owner), LessThan("lease_expires_at", now))
                    ),
                )
            )
        except ConditionFailedError:
            return False
        return True

    def hand_lease_on(
        self,
        api: str,
        owner: str,
        *,
        registered_uploads: int,
        successor: str | None = None,
        successor_seq: int | None = None,
        lease_seconds: int = 0,
    ) -> LeaseMove:
        """Release the lease (``successor=None``) or hand it to the successor's execution, in one conditional write
        that also requires that no upload registered since the caller counted ``registered_uploads``."""
        held = AnyOf((Equals("lease_owner", owner), *((Equals("lease_owner", successor),) if successor else ())))
        unchanged = (
            Equals(REGISTERED_UPLOADS, registered_uploads) if registered_uploads else Missing(REGISTERED_UPLOADS)
        )
        if successor is None:
            fields: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "rolling_seq": None}
        else:
            expires = int(self.clock()) + lease_seconds
            fields = {"lease_owner": successor, "lease_expires_at": expires, "rolling_seq": successor_seq}
        try:
            self._update(Update(_meta(api), set=fields, condition=AllOf((held, unchanged))))
        except ConditionFailedError:
            current = self.get_api(api)
            holders = {owner, *((successor,) if successor else ())}
            if current is None or current.lease_owner not in holders:
                return LeaseMove.LOST
            return LeaseMove.RACED
        return LeaseMove.MOVED

    def release_lease(self, api: str, owner: str) -> bool:
        """Give the lease back whatever was registered meanwhile (the reconciler starts what is pending)."""
        try:
            self._update(
                Update(
                    _meta(api),
                    set={"lease_owner": None, "lease_expires_at": None, "rolling_seq": None},
                    condition=Equals("lease_owner", owner),
                )
            )
        except ConditionFailedError:
            return False
        return True
