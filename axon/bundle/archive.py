"""One pass over a ``.tar.gz`` stream: every member checked by the shared rules, then handed to a visitor."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Self

from axon.bundle.errors import CorruptBundleError, NotTarError, TooLargeError
from axon.bundle.limits import BundleLimits
from axon.bundle.members import Member, MemberChecker, MemberKind
from axon.bundle.stream import ByteSource, GunzipReader

# tarfile reads the decompressed stream in chunks of this size; 1 MiB keeps per-call overhead low on a
# 20 GiB bundle and is also the granularity at which the compression ratio is checked.
_TAR_BUFSIZE = 1024 * 1024
_EXTENDED_HEADERS = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)
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


def _tarinfo_class(limits: BundleLimits) -> type[tarfile.TarInfo]:
    """A ``TarInfo`` that refuses huge extended headers and treats a damaged header as damage, not as the end.

    Stock tarfile reads a pax or GNU long-name header into memory whole, and, in stream mode, silently ends
    the archive at an unreadable header after the first one; both are closed here through its public
    ``frombuf``/``fromtarfile`` classmethods.
    """

    class LimitedTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            info = super().frombuf(buf, encoding, errors)
            if info.type in _EXTENDED_HEADERS and info.size > limits.max_header_bytes:
                raise TooLargeError(
                    f"the bundle has a {info.size}-byte extended tar header; the limit is {limits.max_header_bytes}"
                )
            return info

        @classmethod
        def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
            try:
                return super().fromtarfile(tarfile_)
            except _END_OF_ARCHIVE:
                raise
            except tarfile.HeaderError as error:
                if tarfile_.offset == 0:
                    raise  # tarfile turns it into ReadError: not a tar at all
                raise CorruptBundleError(f"the bundle has a damaged tar header ({error})") from None

    return LimitedTarInfo


class _StreamTarFile(tarfile.TarFile):
    """``members`` is typed here so the walk can drop each ``TarInfo`` once visited (constant memory)."""

    members: list[tarfile.TarInfo]

    @classmethod
    def open_stream(cls, reader: GunzipReader, limits: BundleLimits) -> Self:
        try:
            return cls.open(fileobj=reader, mode="r|", bufsize=_TAR_BUFSIZE, tarinfo=_tarinfo_class(limits))
        except tarfile.TarError as error:
            raise NotTarError(f"the bundle is gzip but not a tar archive ({error})") from None


def walk_bundle(source: ByteSource, limits: BundleLimits, visit: Visitor) -> WalkResult:
    """Read ``source`` once, front to back, checking each member before ``visit`` sees it.

    Member data the visitor does not read is skipped by reading through it, never buffered. After the
    tar end-of-archive marker the rest of the gzip stream is read too, which verifies its CRC.
    """
    reader = GunzipReader(source, limits)
    checker = MemberChecker(limits)
    with _StreamTarFile.open_stream(reader, limits) as tar:
        try:
            while (info := tar.next()) is not None:
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
