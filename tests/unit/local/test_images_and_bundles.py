"""Local image environments (built once per key, isolated) and the bundle cache (keyed by URI and ETag)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon.bundle.build_requirements import pip_requirements
from axon_local import images
from axon_local.dataplane import BundleCache
from axon_local.sagemaker import FleetError

REQUIREMENTS = "--no-index\nhttpx\n"  # already satisfied by the runtime: no download
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-k1"


def test_no_requirements_means_the_running_interpreter(tmp_path: Path) -> None:
    assert images.ensure_environment("k1", "# nothing\n\n", cache_dir=tmp_path) == Path(sys.executable)
    assert not (tmp_path / "envs").exists()
    with pytest.raises(ValueError, match="invalid image key"):
        images.ensure_environment("../x", "", cache_dir=tmp_path)


def test_an_environment_is_built_once_and_sees_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real_build = images._build

    def counting(env: Path, text: str) -> None:
        builds.append(text)
        real_build(env, text)

    monkeypatch.setattr(images, "_build", counting)
    threads = [
        threading.Thread(target=images.ensure_environment, args=("k1", REQUIREMENTS), kwargs={"cache_dir": tmp_path})
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    python = images.ensure_environment("k1", REQUIREMENTS, cache_dir=tmp_path)
    assert builds == [pip_requirements(REQUIREMENTS, allow_source_builds=False)]  # three callers, one build
    assert python == tmp_path / "envs" / "k1" / "bin" / "python"
    probe = "import axon_serving, httpx, sys; print(sys.prefix)"
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "envs" / "k1")
    assert images.python_for_image(URI, cache_dir=tmp_path) == python


def test_a_failed_build_leaves_nothing_and_says_why(tmp_path: Path) -> None:
    with pytest.raises(images.ImageBuildError, match="pip install failed"):
        images.ensure_environment("k2", "--no-index\naxon-no-such-package-xyz==1\n", cache_dir=tmp_path)
    assert not (tmp_path / "envs" / "k2").exists()


def _sdist(folder: Path, name: str = "axon_sdist_only", version: str = "1.0") -> Path:
    """A source distribution (no wheel) of a one-file project, for pip to find with --find-links."""
    folder.mkdir()
    archive = folder / f"{name}-{version}.tar.gz"
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    ).encode()
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo(f"{name}-{version}/pyproject.toml")
        member.size = len(pyproject)
        tar.addfile(member, io.BytesIO(pyproject))
    return archive


def test_binary_wheels_only_unless_the_bundle_allows_source_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local build installs the image build's file: pip refuses an sdist-only requirement by default."""
    archive = _sdist(tmp_path / "sdists")
    requirements = f"--no-index\n--find-links {archive.parent}\naxon-sdist-only==1.0\n"
    with pytest.raises(images.ImageBuildError, match=r"satisfies the requirement axon-sdist-only==1\.0"):
        images.ensure_environment("k4", requirements, cache_dir=tmp_path)
    handed: list[str] = []

    def record(env: Path, text: str) -> None:
        env.mkdir(parents=True)
        handed.append(text)

    monkeypatch.setattr(images, "_build", record)
    images.ensure_environment("k5", requirements, cache_dir=tmp_path, allow_source_builds=True)
    assert handed == [pip_requirements(requirements, allow_source_builds=True)] and "--only-binary" not in handed[0]


def test_images_axon_did_not_build_run_on_the_running_interpreter(tmp_path: Path) -> None:
    assert images.image_key_of(URI) == "k1"
    assert images.image_key_of("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-cpu") is None
    assert images.image_key_of("localhost:5000/axon-serving") is None
    assert images.python_for_image(URI, cache_dir=tmp_path) == Path(sys.executable)  # not built here


@mock_aws
def test_build_image_records_the_tag_in_ecr(tmp_path: Path) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    uri = images.build_image("k3", "", ecr=ecr, cache_dir=tmp_path)
    assert uri.endswith(".dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-k3")
    assert images.build_image("k3", "", ecr=ecr, cache_dir=tmp_path) == uri  # idempotent
    tags = [i["imageTag"] for i in ecr.list_images(repositoryName="axon-serving")["imageIds"]]
    assert tags == ["rt-k3"]


def _tarball(text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


class _CountingS3:
    def __init__(self, s3: Any) -> None:
        self.s3, self.downloads = s3, 0

    def head_object(self, **kwargs: Any) -> Any:
        return self.s3.head_object(**kwargs)

    def download_fileobj(self, *args: Any) -> None:
        self.downloads += 1
        self.s3.download_fileobj(*args)


@mock_aws
def test_bundles_are_extracted_once_per_uri_and_content(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="apis/a/x.tar.gz", Body=_tarball("one"))
    counting = _CountingS3(s3)
    cache = BundleCache(counting, tmp_path)
    first = cache.model_dir("s3://bkt/apis/a/x.tar.gz")
    assert (first / "model.txt").read_text() == "one"
    assert cache.model_dir("s3://bkt/apis/a/x.tar.gz") == first and counting.downloads == 1
    s3.put_object(Bucket="bkt", Key="apis/a/x.tar.gz", Body=_tarball("two"))  # same key, new content
    second = cache.model_dir("s3://bkt/apis/a/x.tar.gz")
    assert second != first and (second / "model.txt").read_text() == "two"


@mock_aws
@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://bkt/x.tar.gz", "must be an s3://bucket/key URI"),
        ("s3://bkt/", "must be an s3://bucket/key URI"),
        ("s3://bkt/missing.tar.gz", "Could not read the model data"),
        ("s3://bkt/bad.tar.gz", "Could not extract the model data"),
    ],
)
def test_bundle_failures_become_fleet_errors(tmp_path: Path, uri: str, message: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="bad.tar.gz", Body=b"garbage")
    with pytest.raises(FleetError, match=message):
        BundleCache(s3, tmp_path).model_dir(uri)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("tmp")] == []
