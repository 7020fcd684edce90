"""ECS path: download a bundle version from S3 (moto), unpack it safely, reuse it for the same URI."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from axon_serving.bundle_source import MARKER, fetch_bundle, parse_bundle_uri
from axon_serving.errors import BundleSourceError
from moto import mock_aws

from axon.bundle import PathTraversalError


def _bundle(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="axon-models")
        client.put_bucket_versioning(Bucket="axon-models", VersioningConfiguration={"Status": "Enabled"})
        yield client


def _put(s3: Any, key: str, body: bytes) -> str:
    return str(s3.put_object(Bucket="axon-models", Key=key, Body=body)["VersionId"])


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("s3://b/apis/x/a.tar.gz", ("b", "apis/x/a.tar.gz", None)),
        ("s3://b/k.tar.gz?versionId=abc", ("b", "k.tar.gz", "abc")),
    ],
)
def test_parse(uri: str, parsed: tuple[str, str, str | None]) -> None:
    assert parse_bundle_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["https://b/k", "s3://b", "s3:///k", "b/k"])
def test_parse_refuses(uri: str) -> None:
    with pytest.raises(BundleSourceError):
        parse_bundle_uri(uri)


def test_fetches_the_named_version_and_caches_by_uri(s3: Any, tmp_path: Path) -> None:
    first = _put(s3, "apis/x/b.tar.gz", _bundle({"predictor.py": b"v1"}))
    _put(s3, "apis/x/b.tar.gz", _bundle({"predictor.py": b"v2"}))
    uri = f"s3://axon-models/apis/x/b.tar.gz?versionId={first}"
    model_dir = tmp_path / "model"
    assert fetch_bundle(uri, model_dir, s3) == model_dir
    assert (model_dir / "predictor.py").read_bytes() == b"v1"
    assert (model_dir / MARKER).read_text() == uri

    class NoCalls:
        def get_object(self, **_: Any) -> Any:
            raise AssertionError("cached: no download expected")

    assert fetch_bundle(uri, model_dir, NoCalls()) == model_dir
    fetch_bundle("s3://axon-models/apis/x/b.tar.gz", model_dir, s3)  # another URI replaces it
    assert (model_dir / "predictor.py").read_bytes() == b"v2"


def test_download_failure_is_a_bundle_source_error(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(BundleSourceError, match=r"cannot download s3://axon-models/missing\.tar\.gz"):
        fetch_bundle("s3://axon-models/missing.tar.gz", tmp_path / "model", s3)
    assert list(tmp_path.iterdir()) == []  # no staging left behind


def test_unsafe_bundle_is_refused_and_leaves_nothing(s3: Any, tmp_path: Path) -> None:
    _put(s3, "evil.tar.gz", _bundle({"../escape.py": b"x"}))
    with pytest.raises(PathTraversalError):
        fetch_bundle("s3://axon-models/evil.tar.gz", tmp_path / "model", s3)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_files_it_did_not_put(s3: Any, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "user.bin").write_bytes(b"x")
    with pytest.raises(BundleSourceError, match="holds files axon did not put there"):
        fetch_bundle("s3://axon-models/k.tar.gz", tmp_path / "model", s3)
