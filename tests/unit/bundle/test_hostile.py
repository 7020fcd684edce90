"""Archives built to break the parser or to unpack differently than they inspect (issue 14, bundle findings).

Each bundle gets the same verdict from ``inspect_bundle`` and ``safe_extract``, or, where only inspection reads
a member's content (hard-linked control files), inspection refuses what it cannot read.
"""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
from pathlib import Path

import pytest

from axon.bundle import BundleError, BundleLimits, archive, inspect_bundle, safe_extract
from axon.bundle.archive import MAX_EXTENDED_HEADERS
from axon.bundle.predictor import MAX_CLASS_DEPTH
from tests.unit.bundle import hostile
from tests.unit.bundle.builder import PREDICTOR, BundleBuilder, ForwardOnlyStream, valid

API = "iris"


def inspect_code(blob: bytes, limits: BundleLimits | None = None) -> str:
    with pytest.raises(BundleError) as caught:
        inspect_bundle(ForwardOnlyStream(blob), api=API, limits=limits or BundleLimits())
    assert "\n" not in caught.value.message
    return caught.value.code


def extract_code(blob: bytes, tmp_path: Path) -> str:
    dest = tmp_path / "model"
    with pytest.raises(BundleError) as caught:
        safe_extract(ForwardOnlyStream(blob), dest)
    assert not dest.exists() and list(tmp_path.iterdir()) == []  # nothing left behind
    return caught.value.code


SPARSE = {
    "gnu S": hostile.gnu_sparse,
    **{f"pax {v}": (lambda v=v: hostile.pax_sparse(v)) for v in ("0.0", "0.1", "1.0", "1.0-endless")},
}


@pytest.mark.parametrize("build", SPARSE.values(), ids=SPARSE.keys())
def test_sparse_members_are_refused_by_both(build: object, tmp_path: Path) -> None:
    """A 250-byte bundle used to unpack 160 MiB: a sparse member's stored size says nothing of its real one."""
    assert callable(build)
    blob = build()
    assert len(blob) < 400
    assert inspect_code(blob) == "bundle.sparse_member"
    assert extract_code(blob, tmp_path) == "bundle.sparse_member"


@pytest.mark.parametrize("gnu", [False, True], ids=["pax", "gnu long names"])
@pytest.mark.parametrize("first", [False, True], ids=["mid-archive", "first member"])
def test_chained_extended_headers_get_a_code_not_a_recursion_error(gnu: bool, first: bool, tmp_path: Path) -> None:
    blob = hostile.header_chain(30_000, gnu=gnu, first=first)
    assert inspect_code(blob) == "bundle.header_chain"
    assert extract_code(blob, tmp_path) == "bundle.header_chain"


@pytest.mark.parametrize("gnu", [False, True], ids=["pax", "gnu long names"])
def test_a_short_chain_as_archivers_write_it_passes(gnu: bool, tmp_path: Path) -> None:
    blob = hostile.header_chain(MAX_EXTENDED_HEADERS, gnu=gnu)
    inspect_bundle(ForwardOnlyStream(blob), api=API)
    safe_extract(ForwardOnlyStream(blob), tmp_path / "model")
    assert inspect_code(hostile.header_chain(MAX_EXTENDED_HEADERS + 1, gnu=gnu)) == "bundle.header_chain"


def test_gnu_long_name_and_long_link_pass(tmp_path: Path) -> None:
    """GNU tar's real worst case: a long-link and a long-name header before one symlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in (("predictor.py", PREDICTOR), ("models/" + "w" * 150, b"weights")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("links/" + "l" * 150)
        link.type, link.linkname = tarfile.SYMTYPE, "../models/" + "w" * 150
        tar.addfile(link)
    assert out.getvalue().count(b"././@LongLink") == 3
    blob = gzip.compress(out.getvalue(), mtime=0)
    inspect_bundle(ForwardOnlyStream(blob), api=API)
    safe_extract(ForwardOnlyStream(blob), tmp_path / "model")
    assert (tmp_path / "model" / ("links/" + "l" * 150)).read_bytes() == b"weights"


@pytest.mark.parametrize("first", [False, True], ids=["mid-archive", "first member"])
def test_whatever_tarfile_raises_while_parsing_becomes_a_code(
    first: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fallback behind the specific checks: with the chain limit lifted, tarfile's own RecursionError."""
    monkeypatch.setattr(archive, "MAX_EXTENDED_HEADERS", 10**9)
    blob = hostile.header_chain(30_000, first=first)
    assert inspect_code(blob) == "bundle.corrupt"
    assert extract_code(blob, tmp_path) == "bundle.corrupt"


def test_a_deep_chain_of_base_classes_gets_a_code_not_a_recursion_error() -> None:
    assert inspect_code(valid(hostile.deep_class_chain(30_000)).build()) == "bundle.predictor_syntax"
    assert inspect_code(valid(hostile.deep_class_chain(MAX_CLASS_DEPTH + 1)).build()) == "bundle.predictor_syntax"


def test_predict_found_at_the_deepest_allowed_base() -> None:
    source = hostile.deep_class_chain(MAX_CLASS_DEPTH).replace(
        b"class C0:\n    pass\n", b"class C0:\n    def predict(self, p): ...\n"
    )
    inspect_bundle(ForwardOnlyStream(valid(source).build()), api=API)


# --- hard links: inspection reads what extraction writes -----------------------------------------------------


@pytest.mark.parametrize("control", ["axon.yaml", "axon.yml", "requirements.txt"])
def test_a_control_file_hard_linked_to_an_unread_file_is_refused(control: str, tmp_path: Path) -> None:
    """It used to be read as absent while extraction wrote it: the build would see another bundle."""
    blob = valid().file("conf/other.txt", "name: other-api\n").hardlink(control, "conf/other.txt").build()
    assert inspect_code(blob) == "bundle.invalid_member"
    safe_extract(ForwardOnlyStream(blob), tmp_path / "model")  # extraction would write it ...
    assert (tmp_path / "model" / control).read_text() == "name: other-api\n"  # ... with this content


def test_a_control_file_hard_linked_to_a_kept_file_is_read_as_extraction_writes_it(tmp_path: Path) -> None:
    blob = (
        BundleBuilder()
        .file("predictor.py", PREDICTOR)
        .file("tools/pins.py", "numpy==2.0.0\n")  # Python sources are kept until axon.yaml names the predictor
        .hardlink("requirements.txt", "tools/pins.py")
        .file("tools/pins.py", "torch\n")  # replaces the file; the link keeps the old bytes, as on disk
        .build()
    )
    report = inspect_bundle(ForwardOnlyStream(blob), api=API)
    safe_extract(ForwardOnlyStream(blob), tmp_path / "model")
    assert report.requirements_text == (tmp_path / "model/requirements.txt").read_text() == "numpy==2.0.0\n"


def test_a_predictor_hard_linked_to_an_unread_file_says_so() -> None:
    blob = BundleBuilder().file("model/impl.txt", PREDICTOR).hardlink("predictor.py", "model/impl.txt").build()
    with pytest.raises(BundleError, match="hard link") as caught:
        inspect_bundle(ForwardOnlyStream(blob), api=API)
    assert caught.value.code == "bundle.invalid_member"


def test_a_predictor_hard_linked_to_a_kept_source_passes() -> None:
    blob = BundleBuilder().file("src/impl.py", PREDICTOR).hardlink("predictor.py", "src/impl.py").build()
    assert inspect_bundle(ForwardOnlyStream(blob), api=API).predictor_path == "predictor.py"


# --- modes: the same verdict everywhere, SageMaker's own tar included ----------------------------------------


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o1644, 0o6777])
def test_setuid_setgid_and_sticky_files_are_refused_by_both(mode: int, tmp_path: Path) -> None:
    blob = valid().file("bin/tool", b"#!/bin/sh\n", mode=mode).build()
    assert inspect_code(blob) == "bundle.special_mode"
    assert extract_code(blob, tmp_path) == "bundle.special_mode"


def test_special_bits_on_directories_are_dropped(tmp_path: Path) -> None:
    """A setgid directory is what tar records from a shared folder; harmless, so accepted and extracted 0755."""
    blob = valid().entry("models", tarfile.DIRTYPE, mode=0o3775).file("models/w.bin", b"w").build()
    inspect_bundle(ForwardOnlyStream(blob), api=API)
    safe_extract(ForwardOnlyStream(blob), tmp_path / "model")
    assert stat.S_IMODE((tmp_path / "model/models").stat().st_mode) == 0o755


@pytest.mark.parametrize("type_", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, b"V"])
def test_devices_fifos_and_other_types_are_refused_by_both(type_: bytes, tmp_path: Path) -> None:
    blob = valid().entry("dev/x", type_).build()
    assert inspect_code(blob) == "bundle.special_file"
    assert extract_code(blob, tmp_path) == "bundle.special_file"
