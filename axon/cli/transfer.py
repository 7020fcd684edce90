"""S3 transfers that report the object version they created.

boto3's managed transfers (multipart, parts in parallel) return nothing, yet the rollout is keyed by the S3
VersionId. The final request of a transfer (PutObject, CompleteMultipartUpload or CopyObject) answers with it, so
an ``after-call`` hook on the client captures it: exact even when someone else uploads to the same key meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from axon.cli.errors import CliError

MiB = 1024 * 1024
# 16 MiB parts, 8 in flight: a 2 GiB bundle is 128 parts; S3 allows 10,000 parts of 5 MiB..5 GiB.
UPLOAD_CONFIG = TransferConfig(multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=8)
# Server-side copy in big parts: CopyObject up to 256 MiB, UploadPartCopy beyond (CopyObject stops at 5 GiB).
COPY_CONFIG = TransferConfig(multipart_threshold=256 * MiB, multipart_chunksize=256 * MiB, max_concurrency=8)
_FINAL_CALLS = ("PutObject", "CompleteMultipartUpload", "CopyObject")


class VersioningDisabledError(CliError):
    code = "cli.bucket_unversioned"


@contextmanager
def _version_capture(s3: Any) -> Iterator[list[str]]:
    captured: list[str] = []
    lock = threading.Lock()

    def remember(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("VersionId"):
            with lock:
                captured.append(str(parsed["VersionId"]))

    events = [f"after-call.s3.{call}" for call in _FINAL_CALLS]
    for event in events:
        s3.meta.events.register(event, remember, unique_id=f"axon-cli-{event}")
    try:
        yield captured
    finally:
        for event in events:
            s3.meta.events.unregister(event, unique_id=f"axon-cli-{event}")


def _only(captured: list[str], bucket: str, key: str) -> str:
    if not captured:
        raise VersioningDisabledError(f"s3://{bucket}/{key} got no VersionId: enable versioning on {bucket}")
    return captured[-1]


def upload(
    s3: Any,
    path: Path,
    bucket: str,
    key: str,
    *,
    progress: Callable[[int], None] | None = None,
    config: TransferConfig = UPLOAD_CONFIG,
) -> str:
    """Upload ``path`` (multipart above the threshold) and return the new object's VersionId."""
    with _version_capture(s3) as captured:
        s3.upload_file(str(path), bucket, key, Config=config, Callback=progress)
    return _only(captured, bucket, key)


def copy_version(
    s3: Any, source: dict[str, str], bucket: str, key: str, *, config: TransferConfig = COPY_CONFIG
) -> str:
    """Server-side copy of one object version (``Bucket``/``Key``/``VersionId``); returns the new VersionId."""
    with _version_capture(s3) as captured:
        s3.copy(source, bucket, key, Config=config)
    return _only(captured, bucket, key)
