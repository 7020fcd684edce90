"""Model bundles from the local S3, safely extracted once into a cache shared by every replica.

The cache key is the URI *and* the object's ETag: the models bucket is versioned, so the same key can hold a new
bundle, and a URI-only key would serve the old model.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from axon.bundle.safe_tar import safe_extract
from axon_local.sagemaker.ports import FleetError


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise FleetError(f"ModelDataUrl must be an s3://bucket/key URI, got {uri!r}.")
    return parsed.netloc, parsed.path.lstrip("/")


class BundleCache:
    """``model_dir(uri)``: the extracted bundle, downloading and extracting it on first use only."""

    def __init__(self, s3: Any, root: Path) -> None:
        self._s3 = s3
        self._root = root
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def _lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def model_dir(self, uri: str) -> Path:
        bucket, key = parse_s3_uri(uri)
        try:
            etag = self._s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        except Exception as error:
            raise FleetError(f"Could not read the model data at {uri}: {error}") from error
        digest = hashlib.sha256(f"{uri}\0{etag}".encode()).hexdigest()[:32]
        target = self._root / digest
        with self._lock_for(digest):
            if target.is_dir():
                return target
            self._root.mkdir(parents=True, exist_ok=True)
            try:
                with tempfile.TemporaryFile(dir=self._root) as archive:
                    self._s3.download_fileobj(bucket, key, archive)
                    archive.seek(0)
                    safe_extract(archive, target)  # all or nothing: a reader sees a whole bundle or none
            except FileExistsError:
                if not target.is_dir():  # another local stack sharing the cache extracted it first
                    raise FleetError(f"Could not extract the model data at {uri}: {target} is in the way.") from None
            except Exception as error:
                raise FleetError(f"Could not extract the model data at {uri}: {error}") from error
        return target
