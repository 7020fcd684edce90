"""One pass over a ``.tar.gz`` stream: every member checked by the shared rules, then handed to a visitor."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Self

from axon.bundle.errors import (
    BundleError,
    CorruptBundleError,
    HeaderChainError,
    NotTarError,
    SparseMemberError,
    TooLargeError,
    show,
)
from axon.bundle.limits import BundleLimits
from axon.bundle.members import Member, MemberChecker, MemberKind
from axon.bundle.stream import ByteSource, GunzipReader

# tarfile reads the decompressed stream in chunks of this size; 1 MiB keeps per-call overhead low on a
# 20 GiB bundle and is also the granularity at which the compression ratio is checked.
_TAR_BUFSIZE = 1024 * 1024
_EXTENDED_HEADERS = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)
# Extended headers before one member: GNU tar writes at most a long-link and a long-name header (2), pax writers
# an extended header, optionally after a global one (2). tarfile reads a chain of them by recursion (one Python
# frame set per header) and holds each in memory, so a long chain would blow the stack or the memory.
MAX_EXTENDED_HEADERS = 4
# What tarfile's header parsing raises, besides TarError, on hostile input (int() of a garbled pax or sparse
# field, a bad encoding, a chain past the recursion limit): each means a damaged archive, never a crash.
_PARSE_ERRORS = (tarfile.TarError, ValueError, LookupError, ArithmeticError, RecursionError)
# tarfile has no public name for "this block is all zeros", the one header error that means a clean end.
_END_OF_ARCHIVE: type[Exception] = getattr(tarfile, "EOFHeaderError", tarfile.HeaderError)

Visitor = Callable[[Member, IO[bytes] | None], None]
"""Called once per member in archive order; the reader (files only) is valid until the visitor returns."""


@dataclass(frozen=True)
class WalkResult:
    checker: MemberChecker
    """The final tree: ``checker.kind(name)`` says what the bundle holds at ``name``."""
    compressed_bytes: int
    uncompressed_bytes: int


def _sparse_error(name: str) -> SparseMemberError:
    return SparseMemberError(
        f"member {show(name)} is a sparse file, which axon does not accept: its stored bytes say nothing of "
        "the size it unpacks to (store it as a regular file, e.g. tar without --sparse)"
    )


def _tarinfo_class(limits: BundleLimits) -> type[tarfile.TarInfo]:
    """A ``TarInfo`` that refuses what stock tarfile would read without bound, before it reads it.

    Refused: huge extended headers (tarfile reads one into memory whole), more than ``MAX_EXTENDED_HEADERS``
    of them in a row (tarfile recurses once per header), and sparse members of every format (a few stored
    bytes expand to any size; the GNU 1.0 map would be read from the data without bound). Stock tarfile also,
    in stream mode, silently ends the archive at an unreadable header after the first one; here that is
    damage. Done through the public ``frombuf``/``fromtarfile`` classmethods, plus the three private sparse
    hooks, which ``MemberChecker`` backs up by refusing any member that still carries sparse information.
    """
    depth = 0  # headers being read, one inside the other: the extended-header chain so far

    class LimitedTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            info = super().frombuf(buf, encoding, errors)
            if info.type == tarfile.GNUTYPE_SPARSE:
                raise _sparse_error(info.name)  # before tarfile reads its chain of sparse extension blocks
            if info.type in _EXTENDED_HEADERS and info.size > limits.max_header_bytes:
                raise TooLargeError(
                    f"the bundle has a {info.size}-byte extended tar header; the limit is {limits.max_header_bytes}"
                )
            return info

        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
            nonlocal depth
            if depth > MAX_EXTENDED_HEADERS:
                raise HeaderChainError(
                    f"the bundle has more than {MAX_EXTENDED_HEADERS} extended tar headers in a row "
                    f"(at byte {tarfile_.offset})"
                )
            depth += 1
            try:
                return super().fromtarfile(tarfile_)
            except _END_OF_ARCHIVE:
                raise
            except tarfile.HeaderError as error:
                if tarfile_.offset == 0:
                    raise  # tarfile turns it into ReadError: not a tar at all
                raise CorruptBundleError(f"the bundle has a damaged tar header ({error})") from None
            finally:
                depth -= 1

        # tarfile's pax sparse hooks (formats 0.0, 0.1 and 1.0), called after the member's own header is read.
        def _proc_gnusparse_00(self, next: tarfile.TarInfo, *_: object) -> None:
            raise _sparse_error(next.name)

        def _proc_gnusparse_01(self, next: tarfile.TarInfo, *_: object) -> None:
            raise _sparse_error(next.name)

        def _proc_gnusparse_10(self, next: tarfile.TarInfo, *_: object) -> None:
            raise _sparse_error(next.name)

    return LimitedTarInfo


class _StreamTarFile(tarfile.TarFile):
    """``members`` is typed here so the walk can drop each ``TarInfo`` once visited (constant memory)."""

    members: list[tarfile.TarInfo]

    @classmethod
    def open_stream(cls, reader: GunzipReader, limits: BundleLimits) -> Self:
        try:
            return cls.open(fileobj=reader, mode="r|", bufsize=_TAR_BUFSIZE, tarinfo=_tarinfo_class(limits))
        except BundleError:
            raise
        except tarfile.TarError as error:
            raise NotTarError(f"the bundle is gzip but not a tar archive ({error})") from None
        except _PARSE_ERRORS as error:  # a first header tarfile recognized, then choked on
            raise CorruptBundleError(f"the bundle's first tar header is damaged ({error!r})") from None


def _next_header(tar: _StreamTarFile) -> tarfile.TarInfo | None:
    """The next member's header; whatever tarfile raises while parsing one becomes a ``BundleError``."""
    try:
        return tar.next()
    except BundleError:
        raise
    except _PARSE_ERRORS as error:
        raise CorruptBundleError(f"the bundle has a damaged tar header ({error!r})") from None


def walk_bundle(source: ByteSource, limits: BundleLimits, visit: Visitor) -> WalkResult:
    """Read ``source`` once, front to back, checking each member before ``visit`` sees it.

    Member data the visitor does not read is skipped by reading through it, never buffered. After the
    tar end-of-archive marker the rest of the gzip stream is read too, which verifies its CRC.
    """
    reader = GunzipReader(source, limits)
    checker = MemberChecker(limits)
    with _StreamTarFile.open_stream(reader, limits) as tar:
        try:
            while (info := _next_header(tar)) is not None:
                tar.members.clear()
                member = checker.check(info)
                if member is None:
                    continue
                data = tar.extractfile(info) if member.kind is MemberKind.FILE else None
                visit(member, data)
        except tarfile.TarError as error:
            raise CorruptBundleError(f"the bundle's tar data is damaged or truncated ({error})") from None
    reader.drain()
    return WalkResult(checker, reader.compressed_bytes, reader.uncompressed_bytes)
