"""Packing: the same directory gives the same bytes; links that leave it, and special files, are refused."""

import io
import os
import tarfile
from pathlib import Path

import pytest

from axon.bundle import inspect_bundle
from axon.cli.errors import PackingError
from axon.cli.packing import pack

PREDICTOR = "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n\n    def predict(self, payload):\n        return payload\n"


def _packed(directory: Path) -> bytes:
    buffer = io.BytesIO()
    pack(directory, buffer)
    return buffer.getvalue()


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getmembers()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "model" / "sub").mkdir(parents=True)
    (root / "predictor.py").write_text(PREDICTOR)
    (root / "b.txt").write_text("b")
    (root / "a.txt").write_text("a")
    (root / "model" / "sub" / "w.bin").write_bytes(b"\x00" * 10)
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o775)
    for skipped in (".git", "__pycache__", ".venv", "model/__pycache__"):
        (root / skipped).mkdir()
        (root / skipped / "junk").write_text("x")
    return root


def test_members_are_sorted_skipped_dirs_left_out_and_owners_and_times_zeroed(tree: Path) -> None:
    members = _members(_packed(tree))
    assert [m.name for m in members] == [
        "a.txt",
        "b.txt",
        "model",
        "model/sub",
        "model/sub/w.bin",
        "predictor.py",
        "run.sh",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    modes = {m.name: m.mode for m in members}
    assert (modes["model"], modes["run.sh"], modes["a.txt"]) == (0o755, 0o755, 0o644)


def test_packing_is_byte_for_byte_reproducible(tree: Path) -> None:
    first = _packed(tree)
    os.utime(tree / "a.txt", (1, 1))
    (tree / "b.txt").chmod(0o600)  # only the executable bit counts
    assert _packed(tree) == first
    (tree / "a.txt").write_text("changed")
    assert _packed(tree) != first


def test_a_link_inside_the_directory_is_kept_relative_and_passes_the_inspector(tree: Path) -> None:
    (tree / "model" / "latest").symlink_to(tree / "model" / "sub" / "w.bin")
    (tree / "weights").symlink_to("model/sub")
    data = _packed(tree)
    links = {m.name: m.linkname for m in _members(data) if m.issym()}
    assert links == {"model/latest": "sub/w.bin", "weights": "model/sub"}
    inspect_bundle(io.BytesIO(data), api="iris")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("../../outside.txt", "leaves the directory"),
        ("/etc/hostname", "leaves the directory"),
        ("missing", "points to nothing"),
    ],
)
def test_links_leaving_the_directory_or_dangling_are_refused(tree: Path, target: str, expected: str) -> None:
    (tree.parent / "outside.txt").write_text("secret")
    (tree / "model" / "link").symlink_to(target)
    with pytest.raises(PackingError, match=f"symlink model/link -> .*{expected}"):
        _packed(tree)


def test_a_link_to_a_directory_outside_is_refused_without_following_it(tree: Path) -> None:
    (tree / "elsewhere").symlink_to(tree.parent)
    with pytest.raises(PackingError, match="symlink elsewhere"):
        _packed(tree)


def test_special_files_are_refused(tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    with pytest.raises(PackingError, match="pipe is not a regular file"):
        _packed(tree)


def test_a_missing_or_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackingError, match="is not a directory"):
        _packed(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackingError, match="is empty"):
        _packed(tmp_path / "empty")
