"""Properties over generated member names, link targets, whole trees and damaged bytes."""

import gzip
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from axon.bundle import BundleError, inspect_bundle, safe_extract
from axon.errors import AxonError
from tests.unit.bundle.builder import BundleBuilder, ForwardOnlyStream, valid

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOT_MEMBER_CODES = {"bundle.missing_predictor", "bundle.predictor_class_missing"}

component = st.one_of(
    st.sampled_from(["", ".", "..", "...", "a", "B", "ü", "x y", "a\\..\\b", "~", "-"]),
    st.text(st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1, max_size=6),
)
path = st.builds(
    lambda absolute, parts: ("/" if absolute else "") + "/".join(parts),
    st.booleans(),
    st.lists(component, min_size=1, max_size=4),
)


def parts_of(raw: str) -> list[str]:
    return [part for part in raw.split("/") if part not in ("", ".")]


def expected_name_code(raw: str) -> str | None:
    """The contract in docs/bundle.md, written independently of the implementation."""
    if raw.startswith("/"):
        return "bundle.absolute_path"
    if ".." in parts_of(raw):
        return "bundle.path_traversal"
    if not parts_of(raw):
        return "bundle.invalid_member"
    return None


def verdicts(blob: bytes, check_tree: Callable[[Path], None] = lambda tree: None) -> tuple[str | None, str | None]:
    """(inspect's code, safe_extract's code); nothing but AxonError may escape either.

    ``check_tree`` sees the extraction's parent folder when extraction succeeds.
    """
    try:
        inspect_bundle(ForwardOnlyStream(blob), api="iris")
        inspected = None
    except AxonError as error:
        inspected = error.code
    with tempfile.TemporaryDirectory() as work:
        try:
            safe_extract(ForwardOnlyStream(blob), Path(work) / "dest")
        except BundleError as error:
            assert os.listdir(work) == [], "a failed extraction left files behind"
            return inspected, error.code
        check_tree(Path(work))
    return inspected, None


def assert_all_inside(work: Path) -> None:
    """Nothing but ``dest`` was created, and every path in it resolves inside it."""
    assert os.listdir(work) == ["dest"]
    root = work / "dest"
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            resolved = os.path.realpath(os.path.join(folder, name))
            assert resolved == real_root or resolved.startswith(real_root + os.sep), resolved


@SETTINGS
@given(path)
@example("/etc/passwd")
@example("a/../b")
@example("./")
@example("./a//b/")
@example("ü/x y")
def test_any_name_inside_the_root_is_accepted_and_any_escape_refused(raw: str) -> None:
    names = parts_of(raw)
    if names and names[0] == "predictor.py":
        return  # would replace or sit beneath the predictor: another rule

    def written(work: Path) -> None:
        assert (work / "dest" / "/".join(names)).read_text() == "data"

    assert verdicts(valid().file(raw, "data").build(), written) == (expected_name_code(raw),) * 2


@SETTINGS
@given(st.lists(component.filter(lambda c: c not in ("", ".", "..")), min_size=1, max_size=3), path)
@example(["l"], "/etc")
@example(["d", "l"], "../..")
@example(["d", "l"], "../x")
@example(["l"], "a/../b")
@example(["l"], "")
def test_symlinks_resolve_inside_the_bundle_or_are_refused(name_parts: list[str], target: str) -> None:
    if name_parts[0] == "predictor.py":
        return
    parts = parts_of(target)
    ups = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
    if target == "":
        expected: str | None = "bundle.invalid_member"
    elif target.startswith("/") or ".." in parts[ups:] or ups > len(name_parts) - 1:
        expected = "bundle.link_escape"
    else:
        expected = None
    name = "/".join(name_parts)
    assert verdicts(valid().symlink(name, target).build(), assert_all_inside) == (expected, expected)


small_path = st.builds(
    lambda parts: "/".join(parts), st.lists(st.sampled_from(["a", "b", ".", "..", ""]), min_size=1, max_size=3)
)
member = st.tuples(st.sampled_from(["file", "dir", "symlink", "hardlink"]), small_path, small_path)


@SETTINGS
@given(st.lists(member, min_size=1, max_size=6))
def test_no_archive_writes_outside_its_root(members: list[tuple[str, str, str]]) -> None:
    builder = BundleBuilder()
    for kind, name, target in members:
        if kind == "file":
            builder.file(name, "x")
        elif kind == "dir":
            builder.dir(name)
        elif kind == "symlink":
            builder.symlink(name, target)
        else:
            builder.hardlink(name, target)
    inspected, extracted = verdicts(builder.build(), assert_all_inside)
    assert inspected == extracted or (extracted is None and inspected in NOT_MEMBER_CODES)


@SETTINGS
@given(st.data())
def test_damaged_bytes_give_a_bundle_error_or_a_valid_report(data: st.DataObject) -> None:
    tar = bytearray(valid(spec="name: iris").file("requirements.txt", "numpy").symlink("l", "predictor.py").tar())
    compressed = data.draw(st.booleans())
    blob = bytearray(gzip.compress(bytes(tar), mtime=0)) if compressed else tar
    for _ in range(data.draw(st.integers(1, 4))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    blob = blob if compressed else bytearray(gzip.compress(bytes(blob), mtime=0))
    verdicts(bytes(blob), assert_all_inside)
