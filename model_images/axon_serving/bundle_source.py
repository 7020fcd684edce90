"""ECS path: fetch the bundle named by ``s3://bucket/key?versionId=...`` and unpack it into the model dir.

Extraction is ``axon.bundle.safe_tar.safe_extract``, the control plane's own rules (no traversal, links,
devices or bombs). A marker file records the URI, so a restarted task with the same URI skips the download.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from axon.errors import AxonError
from axon_serving.errors import BundleSourceError

MARKER = ".axon-bundle-uri"


def parse_bundle_uri(uri: str) -> tuple[str, str, str | None]:
    """``s3://bucket/key?versionId=v`` -> (bucket, key, version id or None)."""
    parts = urlsplit(uri)
    key = parts.path.lstrip("/")
    if parts.scheme != "s3" or not parts.netloc or not key:
        raise BundleSourceError(f"bundle URI must look like s3://bucket/key[?versionId=...], got {uri!r}")
    versions = parse_qs(parts.query).get("versionId")
    return parts.netloc, key, versions[0] if versions else None


def fetch_bundle(uri: str, model_dir: Path, client: Any = None) -> Path:
    """Make ``model_dir`` hold the bundle at ``uri``; a no-op when it already does."""
    bucket, key, version = parse_bundle_uri(uri)
    marker = model_dir / MARKER
    if marker.is_file() and marker.read_text() == uri:
        return model_dir
    if model_dir.exists() and any(model_dir.iterdir()) and not marker.is_file():
        raise BundleSourceError(f"{model_dir} holds files axon did not put there; refusing to replace them")
    from axon.bundle.safe_tar import safe_extract

    if client is None:
        import boto3

        client = boto3.client("s3")
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}-", dir=model_dir.parent))
    try:
        request = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        try:
            body = client.get_object(**request)["Body"]
        except Exception as error:  # botocore's ClientError and transport errors alike: say which and why
            raise BundleSourceError(f"cannot download {uri}: {error}") from error
        safe_extract(body, staging)
        (staging / MARKER).write_text(uri)
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    except AxonError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model_dir
