import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from axon.bundle import BundleError, BundleLimits, safe_extract
from axon.bundle import members as member_rules
from tests.unit.bundle.builder import PREDICTOR, BundleBuilder, ForwardOnlyStream, valid
from tests.unit.bundle.cases import CASES, Case


def extract(blob: bytes, dest: Path, limits: BundleLimits | None = None) -> None:
    safe_extract(ForwardOnlyStream(blob), dest, limits)


@pytest.fixture
def strict_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("strict_umask")
def test_extracts_files_dirs_and_links_that_stay_inside(tmp_path: Path) -> None:
    blob = (
        valid()
        .dir("models")
        .file("./models//w.bin", b"weights", mode=0o777)
        .file("run.sh", "#!/bin/sh\n", mode=0o700)
        .file("notes.txt", "hi", mode=0o666)
        .symlink("models/latest", "w.bin")
        .symlink("deep/up", "../models/w.bin")
        .hardlink("copy.bin", "models/w.bin")
        .build()
    )
    dest = tmp_path / "bundle"
    extract(blob, dest)
    assert (dest / "predictor.py").read_bytes() == PREDICTOR
    assert (dest / "models/latest").read_bytes() == (dest / "deep/up").read_bytes() == b"weights"
    assert os.readlink(dest / "models/latest") == "w.bin"
    assert (dest / "copy.bin").stat().st_ino == (dest / "models/w.bin").stat().st_ino
    expected = {"models/w.bin": 0o755, "run.sh": 0o755, "notes.txt": 0o644, "models": 0o755, "deep": 0o755, ".": 0o755}
    assert {name: stat.S_IMODE((dest / name).stat().st_mode) for name in expected} == expected
    assert sorted(os.listdir(tmp_path)) == ["bundle"]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_same_verdicts_as_the_inspector_and_nothing_left_on_failure(case: Case, tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    if not case.member_level:
        extract(case.build(), dest, case.limits)  # spec, predictor and requirements are not its business
        assert dest.is_dir()
        return
    with pytest.raises(BundleError) as caught:
        extract(case.build(), dest, case.limits)
    assert caught.value.code == case.code
    assert os.listdir(tmp_path) == []


def test_a_member_replacing_a_symlink_is_not_written_through_it(tmp_path: Path) -> None:
    extract(valid().symlink("a", "b").file("a", "content").build(), tmp_path / "x")
    assert not (tmp_path / "x/a").is_symlink() and (tmp_path / "x/a").read_text() == "content"
    assert not (tmp_path / "x/b").exists()


def test_dest_must_be_new_or_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    extract(valid().build(), tmp_path / "empty")
    assert (tmp_path / "empty/predictor.py").exists()
    with pytest.raises(FileExistsError):
        extract(valid().build(), tmp_path / "empty")
    extract(valid().build(), tmp_path / "new/nested")
    assert (tmp_path / "new/nested/predictor.py").exists()


def test_tarfile_data_filter_is_a_second_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the name rules switched off, the data filter still stops the escape, using the real tree."""
    monkeypatch.setattr(member_rules, "normalize_name", lambda raw, limits: raw)
    dest = tmp_path / "out" / "bundle"
    with pytest.raises(BundleError) as caught:
        extract(BundleBuilder().file("../../escaped.txt", "x").build(), dest)
    assert caught.value.code == "bundle.path_traversal" and "data filter" in caught.value.message
    monkeypatch.setattr(member_rules, "_symlink_target", lambda name, raw: raw)
    with pytest.raises(BundleError) as caught:
        extract(BundleBuilder().symlink("etc", "../../../etc").build(), dest)
    assert caught.value.code == "bundle.link_escape" and "data filter" in caught.value.message
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out"]
    extract(BundleBuilder().file("/abs.txt", "x").build(), dest)  # the filter strips the slash
    assert (dest / "abs.txt").read_text() == "x"


def test_accepts_any_binary_reader(tmp_path: Path) -> None:
    safe_extract(io.BytesIO(valid().build()), tmp_path / "b")
    assert (tmp_path / "b/predictor.py").exists()
