"""The member rules, shared by the inspector and the extractor: one checker decides what may be unpacked.

Names are checked lexically, and the checker remembers every member it has seen so that order cannot be
used to escape: nothing may be written beneath a symlink or a file, whichever comes first in the archive.
Link targets are checked so that their resolution on disk equals their lexical resolution (see
``_symlink_target``); together this keeps every path of an extracted bundle inside its root.
"""

from __future__ import annotations

import bisect
import tarfile
from dataclasses import dataclass
from enum import Enum

from axon.bundle.errors import (
    AbsolutePathError,
    InvalidMemberError,
    LinkEscapeError,
    PathTraversalError,
    SparseMemberError,
    SpecialFileError,
    SpecialModeError,
    TooLargeError,
    TooManyMembersError,
    show,
)
from axon.bundle.limits import BundleLimits

# Linux NAME_MAX: a longer component can never be created, so refuse it here rather than mid-extraction.
_MAX_COMPONENT_BYTES = 255
# setuid, setgid, sticky: refused on files rather than stripped, because SageMaker unpacks the bundle with its
# own tar, not with safe_extract, so inspection is the only place they can be stopped on every platform.
_SPECIAL_MODE_BITS = 0o7000
_SPECIAL_KINDS = {
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
}


class MemberKind(Enum):
    DIRECTORY = "directory"
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True)
class Member:
    """A member that passed every rule, with a normalized name (``a/b``, never ``./a//b``)."""

    name: str
    kind: MemberKind
    size: int
    executable: bool = False
    link_target: str | None = None
    """Symlink: the normalized target text, relative to the link's directory. Hard link: a member name."""

    @property
    def mode(self) -> int:
        """Sanitized permissions: no setuid/setgid/sticky (refused on files, dropped on directories), nothing
        group- or world-writable."""
        return 0o755 if self.kind is MemberKind.DIRECTORY or self.executable else 0o644


def _encoded_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def split_path(raw: str) -> list[str]:
    """Components of a ``/``-separated path without empty and ``.`` parts (``./a//b/`` -> ``[a, b]``)."""
    return [part for part in raw.split("/") if part not in ("", ".")]


def normalize_name(raw: str, limits: BundleLimits) -> str:
    """The member's path relative to the bundle root; ``""`` is the root itself (``./``)."""
    if "\x00" in raw:
        raise InvalidMemberError(f"member {show(raw)} has a NUL byte in its name")
    if raw.startswith("/"):
        raise AbsolutePathError(f"member {show(raw)} has an absolute path")
    parts = split_path(raw)
    if ".." in parts:
        raise PathTraversalError(f"member {show(raw)} contains '..'")
    name = "/".join(parts)
    if _encoded_len(name) > limits.max_name_bytes or len(parts) > limits.max_path_depth:
        raise InvalidMemberError(
            f"member {show(raw)} is longer than {limits.max_name_bytes} bytes "
            f"or deeper than {limits.max_path_depth} levels"
        )
    if any(_encoded_len(part) > _MAX_COMPONENT_BYTES for part in parts):
        raise InvalidMemberError(f"member {show(raw)} has a path component longer than 255 bytes")
    return name


def _is_sparse(info: tarfile.TarInfo) -> bool:
    """GNU ``S`` members and pax sparse formats 0.0, 0.1 and 1.0, however tarfile came to parse them."""
    return (
        info.type == tarfile.GNUTYPE_SPARSE
        or info.sparse is not None
        or any(key.startswith("GNU.sparse.") for key in info.pax_headers)
    )


def _kind_of(info: tarfile.TarInfo) -> MemberKind:
    if _is_sparse(info):
        raise SparseMemberError(f"member {show(info.name)} is a sparse file, which axon does not accept")
    if info.isreg():
        return MemberKind.FILE
    if info.isdir():
        return MemberKind.DIRECTORY
    if info.issym():
        return MemberKind.SYMLINK
    if info.islnk():
        return MemberKind.HARDLINK
    what = _SPECIAL_KINDS.get(info.type, f"of unsupported tar type {info.type!r}")
    raise SpecialFileError(f"member {show(info.name)} is {what}")


def _symlink_target(name: str, raw: str) -> str:
    """Check a symlink target; return it normalized (``./../a//b`` -> ``../a/b``).

    Only leading ``..`` are allowed (``../../models/x``, not ``a/../b``): the link's own directory is a real
    directory (nothing lives beneath a symlink), so going up from it is exact, and going down from there only
    reaches members, each of which is checked. ``a/../b`` could climb out through a symlink ``a``.
    """
    if "\x00" in raw or not raw:
        raise InvalidMemberError(f"symlink {show(name)} has an empty or NUL-containing target")
    if raw.startswith("/"):
        raise LinkEscapeError(f"symlink {show(name)} points to the absolute path {show(raw)}")
    parts = split_path(raw)
    ups = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
    if ".." in parts[ups:]:
        raise LinkEscapeError(f"symlink {show(name)} -> {show(raw)} has '..' after a directory name")
    if ups > name.count("/"):
        raise LinkEscapeError(f"symlink {show(name)} -> {show(raw)} points outside the bundle")
    return "/".join(parts) or "."


class MemberChecker:
    """Applies every member rule in archive order; one instance per bundle (it remembers the tree).

    Memory is bounded by the limits: at most ``max_members`` names of at most ``max_name_bytes`` each.
    """

    def __init__(self, limits: BundleLimits) -> None:
        self._limits = limits
        self._kinds: dict[str, MemberKind] = {}
        self._sorted_names: list[str] = []
        self.member_count = 0
        self.total_bytes = 0

    def kind(self, name: str) -> MemberKind | None:
        """The kind of the last member named ``name`` (normalized), or ``None`` if there is none."""
        return self._kinds.get(name)

    def check(self, info: tarfile.TarInfo) -> Member | None:
        """The checked member, or ``None`` for the root directory entry (``./``); raises ``BundleError``."""
        self.member_count += 1
        if self.member_count > self._limits.max_members:
            raise TooManyMembersError(f"the bundle has more than {self._limits.max_members} members")
        kind = _kind_of(info)
        name = normalize_name(info.name, self._limits)
        if not name:
            if kind is MemberKind.DIRECTORY:
                return None
            raise InvalidMemberError(f"member {show(info.name)} names the bundle root but is not a directory")
        target = None
        if kind is MemberKind.FILE:
            if info.mode & _SPECIAL_MODE_BITS:
                raise SpecialModeError(
                    f"member {show(info.name)} has mode {info.mode:o}: setuid, setgid and sticky files are refused"
                )
            self._count_size(name, info.size)
        elif kind is MemberKind.SYMLINK:
            target = _symlink_target(name, info.linkname)
        elif kind is MemberKind.HARDLINK:
            target = self._hardlink_target(name, info.linkname)
        self._check_place(name, kind)
        self._record(name, kind)
        is_file = kind is MemberKind.FILE
        return Member(name, kind, info.size if is_file else 0, is_file and bool(info.mode & 0o111), target)

    def _count_size(self, name: str, size: int) -> None:
        limits = self._limits
        if size > limits.max_member_bytes:
            raise TooLargeError(f"member {show(name)} is {size} bytes; the limit is {limits.max_member_bytes}")
        self.total_bytes += size
        if self.total_bytes > limits.max_total_bytes:
            raise TooLargeError(f"the bundle's members add up to more than {limits.max_total_bytes} bytes")

    def _hardlink_target(self, name: str, raw: str) -> str:
        """Hard links (tar names them by member path) must point to a regular file earlier in the bundle."""
        if raw.startswith("/"):
            raise LinkEscapeError(f"hard link {show(name)} points to the absolute path {show(raw)}")
        parts = split_path(raw)
        if ".." in parts:
            raise LinkEscapeError(f"hard link {show(name)} -> {show(raw)} points outside the bundle")
        target = "/".join(parts)
        if target == name or self._kinds.get(target) not in (MemberKind.FILE, MemberKind.HARDLINK):
            raise InvalidMemberError(
                f"hard link {show(name)} -> {show(raw)} does not point to a regular file earlier in the bundle"
            )
        return target

    def _check_place(self, name: str, kind: MemberKind) -> None:
        """Nothing beneath a symlink or a file, and no name that is both a directory and something else."""
        cut = name.find("/")
        while cut != -1:
            ancestor = name[:cut]
            above = self._kinds.get(ancestor)
            if above is MemberKind.SYMLINK:
                raise LinkEscapeError(f"member {show(name)} lies beneath the symlink {show(ancestor)}")
            if above in (MemberKind.FILE, MemberKind.HARDLINK):
                raise InvalidMemberError(f"member {show(name)} lies beneath the file {show(ancestor)}")
            cut = name.find("/", cut + 1)
        before = self._kinds.get(name)
        if kind is MemberKind.DIRECTORY:
            clash = before not in (None, MemberKind.DIRECTORY)
        else:
            clash = before is MemberKind.DIRECTORY or self._has_descendants(name)
        if clash and MemberKind.SYMLINK in (kind, before):
            raise LinkEscapeError(f"member {show(name)} is both a symlink and a directory")
        if clash:
            raise InvalidMemberError(f"member {show(name)} is both a directory and a file")

    def _has_descendants(self, name: str) -> bool:
        prefix = name + "/"
        index = bisect.bisect_left(self._sorted_names, prefix)
        return index < len(self._sorted_names) and self._sorted_names[index].startswith(prefix)

    def _record(self, name: str, kind: MemberKind) -> None:
        if name not in self._kinds:
            bisect.insort(self._sorted_names, name)
        self._kinds[name] = kind
