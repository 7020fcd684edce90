"""The member rules, one row per rule, fed straight to ``MemberChecker`` (no gzip, no tar bytes)."""

import tarfile

import pytest

from axon.bundle import BundleError, BundleLimits, Member, MemberChecker, MemberKind
from axon.bundle.members import normalize_name

LIMITS = BundleLimits(max_name_bytes=64, max_path_depth=4)


def info(
    name: str, type_: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 0, mode: int = 0o644
) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname, member.size, member.mode = type_, linkname, size, mode
    return member


D, F, S, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("a", "a"), ("./a", "a"), ("././a//b/", "a/b"), (".", ""), ("./", ""), ("...", "..."), ("a\\..\\b", "a\\..\\b")],
)
def test_names_are_normalized(raw: str, normalized: str) -> None:
    assert normalize_name(raw, LIMITS) == normalized


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("/etc/passwd", "bundle.absolute_path"),
        ("//a", "bundle.absolute_path"),
        ("../a", "bundle.path_traversal"),
        ("a/../b", "bundle.path_traversal"),  # inside lexically, refused all the same (see docs)
        ("a/..", "bundle.path_traversal"),
        ("a\x00b", "bundle.invalid_member"),
        ("x" * 65, "bundle.invalid_member"),
        ("a/b/c/d/e", "bundle.invalid_member"),
        ("ü" * 40, "bundle.invalid_member"),  # 40 characters, 80 bytes
    ],
)
def test_names_that_cannot_be_extracted_safely_are_refused(raw: str, code: str) -> None:
    with pytest.raises(BundleError) as caught:
        normalize_name(raw, LIMITS)
    assert caught.value.code == code


def test_a_component_longer_than_name_max_is_refused() -> None:
    with pytest.raises(BundleError, match="longer than 255 bytes") as caught:
        normalize_name("a" * 256, BundleLimits())
    assert caught.value.code == "bundle.invalid_member"


# (members in archive order, expected code or None). Each row is one rule; order matters in some.
RULES = {
    "root entry is skipped": ([info("./", D), info("a")], None),
    "symlink to a sibling": ([info("d", D), info("d/l", S, "x")], None),
    "symlink up then down": ([info("d/e/l", S, "../../models/w.bin")], None),
    "symlink to its own dir": ([info("d/l", S, ".")], None),
    "hard link to an earlier file": ([info("a"), info("./b", H, "./a")], None),
    "same file twice": ([info("a"), info("a")], None),
    "symlink replaced by a file": ([info("a", S, "b"), info("a")], None),
    "directory twice": ([info("d", D), info("d/x"), info("d", D)], None),
    "fifo": ([info("p", tarfile.FIFOTYPE)], "bundle.special_file"),
    "char device": ([info("c", tarfile.CHRTYPE)], "bundle.special_file"),
    "block device": ([info("b", tarfile.BLKTYPE)], "bundle.special_file"),
    "unknown type": ([info("v", b"V")], "bundle.special_file"),
    "root as a file": ([info("./")], "bundle.invalid_member"),
    "absolute symlink": ([info("l", S, "/etc")], "bundle.link_escape"),
    "symlink out": ([info("d/l", S, "../..")], "bundle.link_escape"),
    "symlink down and up": ([info("l", S, "d/../x")], "bundle.link_escape"),
    "empty symlink": ([info("l", S, "")], "bundle.invalid_member"),
    "absolute hard link": ([info("l", H, "/etc/passwd")], "bundle.link_escape"),
    "hard link out": ([info("l", H, "../x")], "bundle.link_escape"),
    "hard link to nothing": ([info("l", H, "missing")], "bundle.invalid_member"),
    "hard link to a later file": ([info("l", H, "a"), info("a")], "bundle.invalid_member"),
    "hard link to a symlink": ([info("a", S, "b"), info("l", H, "a")], "bundle.invalid_member"),
    "hard link to itself": ([info("a"), info("a", H, "a")], "bundle.invalid_member"),
    "write through an earlier symlink": ([info("d", S, "."), info("d/x")], "bundle.link_escape"),
    "symlink over a filled directory": ([info("d/x"), info("d", S, ".")], "bundle.link_escape"),
    "directory over a symlink": ([info("d", S, "e"), info("d", D)], "bundle.link_escape"),
    "member beneath a file": ([info("a"), info("a/b")], "bundle.invalid_member"),
    "file over a filled directory": ([info("a/b"), info("a")], "bundle.invalid_member"),
    "file over an empty directory": ([info("a", D), info("a")], "bundle.invalid_member"),
    "directory over a file": ([info("a"), info("a", D)], "bundle.invalid_member"),
}


@pytest.mark.parametrize(("members", "code"), RULES.values(), ids=RULES.keys())
def test_member_rules(members: list[tarfile.TarInfo], code: str | None) -> None:
    checker = MemberChecker(LIMITS)
    if code is None:
        for member in members:
            checker.check(member)
        return
    with pytest.raises(BundleError) as caught:
        for member in members:
            checker.check(member)
    assert caught.value.code == code
    assert "\n" not in caught.value.message


def test_checked_members_carry_normalized_names_and_sanitized_modes() -> None:
    checker = MemberChecker(LIMITS)
    script = checker.check(info("./bin//run.sh", size=3, mode=0o777))
    data = checker.check(info("w.bin", size=5, mode=0o666))
    link = checker.check(info("./l", S, "./bin/run.sh"))
    assert script == Member("bin/run.sh", MemberKind.FILE, 3, executable=True)
    assert (script.mode, data and data.mode) == (0o755, 0o644)
    assert link == Member("l", MemberKind.SYMLINK, 0, link_target="bin/run.sh")
    assert (checker.member_count, checker.total_bytes) == (3, 8)
    assert checker.kind("bin/run.sh") is MemberKind.FILE and checker.kind("bin") is None


@pytest.mark.parametrize(
    ("limits", "members", "code"),
    [
        (BundleLimits(max_members=2), [info("a"), info("b"), info("c", D)], "bundle.too_many_members"),
        (BundleLimits(max_member_bytes=10), [info("a", size=11)], "bundle.too_large"),
        (BundleLimits(max_total_bytes=10), [info("a", size=6), info("b", size=6)], "bundle.too_large"),
    ],
    ids=["members", "member-size", "total-size"],
)
def test_counts_and_sizes_are_refused_at_the_header(
    limits: BundleLimits, members: list[tarfile.TarInfo], code: str
) -> None:
    checker = MemberChecker(limits)
    with pytest.raises(BundleError) as caught:
        for member in members:
            checker.check(member)
    assert caught.value.code == code
