"""Streaming gunzip that counts both sides, so size and ratio limits stop a bomb while it is being read."""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING, Protocol

from axon.bundle.errors import CompressionRatioError, CorruptBundleError, NotGzipError, TooLargeError
from axon.bundle.limits import BundleLimits

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# Compressed bytes pulled from the source per read: large enough for S3 throughput, small enough that a
# bomb is caught within one chunk's worth of output (output per call is capped by the caller's size anyway).
_SOURCE_CHUNK = 256 * 1024


class ByteSource(Protocol):
    """Anything with ``read(n)``: a file, ``BytesIO``, botocore's ``StreamingBody``. Never seeked."""

    def read(self, size: int, /) -> bytes: ...


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


class GunzipReader(io.RawIOBase):
    """Decompresses ``source`` on the fly; ``compressed_bytes`` / ``uncompressed_bytes`` count what was used.

    Each ``read(n)`` returns at most ``n`` bytes and consumes only the compressed input needed for them, so the
    ratio is measured on the bytes read so far and a bomb is refused after ``compression_ratio_floor_bytes``,
    not at its end. Concatenated gzip members (``cat a.gz b.gz``) are read as one stream, as gzip(1) does.
    """

    def __init__(self, source: ByteSource, limits: BundleLimits) -> None:
        super().__init__()
        self._source = source
        self._limits = limits
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._pending = b""
        self._started = False
        self._finished = False
        self.compressed_bytes = 0
        self.uncompressed_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inflate(len(view)) if len(view) else b""
        view[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read to the end of the gzip stream: verifies its CRC and length, and that nothing follows it."""
        while self._inflate(1024 * 1024):
            pass

    def _inflate(self, size: int) -> bytes:
        if not self._started:
            self._start()
        while not self._finished:
            if self._inflater.eof:
                self._next_gzip_member()
                continue
            if not self._pending:
                self._pending = self._source.read(_SOURCE_CHUNK)
                if not self._pending:
                    raise CorruptBundleError("the bundle ends in the middle of its gzip stream (truncated?)")
            data = self._pending
            try:
                out = self._inflater.decompress(data, size)
            except zlib.error as error:
                raise CorruptBundleError(f"the bundle's gzip data is corrupt ({error})") from None
            rest = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
            self.compressed_bytes += len(data) - len(rest)
            self._pending = rest
            if out:
                self._count(len(out))
                return out
        return b""

    def _start(self) -> None:
        self._started = True
        head = self._source.read(_SOURCE_CHUNK)
        while 0 < len(head) < len(GZIP_MAGIC):
            more = self._source.read(_SOURCE_CHUNK)
            if not more:
                break
            head += more
        if not head:
            raise NotGzipError("the bundle is empty")
        if not head.startswith(GZIP_MAGIC):
            raise NotGzipError("the bundle is not gzip-compressed (expected a .tar.gz)")
        self._pending = head

    def _next_gzip_member(self) -> None:
        if not self._pending:
            self._pending = self._source.read(_SOURCE_CHUNK)
        if not self._pending:
            self._finished = True
        elif self._pending.startswith(GZIP_MAGIC):
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
        else:
            raise CorruptBundleError("the bundle has data after the end of its gzip stream")

    def _count(self, produced: int) -> None:
        self.uncompressed_bytes += produced
        limits = self._limits
        if self.uncompressed_bytes > limits.max_total_bytes:
            raise TooLargeError(f"the bundle unpacks to more than {_mib(limits.max_total_bytes)}")
        ratio = self.uncompressed_bytes / max(self.compressed_bytes, 1)
        if self.uncompressed_bytes > limits.compression_ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise CompressionRatioError(
                f"the bundle decompresses {ratio:.0f}x ({_mib(self.uncompressed_bytes)} from "
                f"{_mib(self.compressed_bytes)} so far); the limit is {limits.max_compression_ratio:g}x"
            )
