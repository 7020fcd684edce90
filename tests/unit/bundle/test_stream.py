import gzip
import zlib

import pytest

from axon.bundle import BundleLimits
from axon.bundle.errors import CompressionRatioError, CorruptBundleError, NotGzipError, TooLargeError
from axon.bundle.stream import GunzipReader
from tests.unit.bundle.builder import ForwardOnlyStream

TEXT = b"the quick brown fox jumps over the lazy dog\n" * 2000


def read_all(data: bytes, limits: BundleLimits | None = None, chunk: int = 4096) -> tuple[bytes, GunzipReader]:
    reader = GunzipReader(ForwardOnlyStream(data), limits or BundleLimits())
    out = bytearray()
    while block := reader.read(chunk):
        assert len(block) <= chunk
        out += block
    return bytes(out), reader


def test_counts_both_sides_of_the_stream() -> None:
    compressed = gzip.compress(TEXT)
    out, reader = read_all(compressed)
    assert out == TEXT
    assert (reader.uncompressed_bytes, reader.compressed_bytes) == (len(TEXT), len(compressed))


def test_concatenated_gzip_members_read_as_one_stream_like_gzip_1() -> None:
    out, _ = read_all(gzip.compress(b"first ") + gzip.compress(b"second"))
    assert out == b"first second"


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", NotGzipError, "empty"),
        (b"PK\x03\x04 a zip", NotGzipError, "not gzip"),
        (gzip.compress(TEXT)[:-12], CorruptBundleError, "truncated"),
        (gzip.compress(TEXT) + b"trailing junk", CorruptBundleError, "after the end"),
        (gzip.compress(TEXT)[:-8] + b"\0\0\0\0" + gzip.compress(TEXT)[-4:], CorruptBundleError, "corrupt"),
    ],
    ids=["empty", "zip", "truncated", "trailing-junk", "bad-crc"],
)
def test_refuses_what_is_not_a_whole_gzip_stream(data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        read_all(data)


def test_total_uncompressed_size_is_capped_while_reading() -> None:
    limits = BundleLimits(max_total_bytes=10_000)
    with pytest.raises(TooLargeError, match="unpacks to more than"):
        read_all(gzip.compress(TEXT), limits)


def test_ratio_is_checked_on_bytes_read_so_far_past_the_floor() -> None:
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = zeros.compress(bytes(8 * 1024 * 1024)) + zeros.flush()
    limits = BundleLimits(max_compression_ratio=50, compression_ratio_floor_bytes=256 * 1024)
    reader = GunzipReader(stream := ForwardOnlyStream(bomb, max_read=256), limits)
    with pytest.raises(CompressionRatioError, match="limit is 50x"):
        while reader.read(64 * 1024):
            pass
    assert reader.uncompressed_bytes <= 256 * 1024 + 64 * 1024
    assert stream.bytes_read < len(bomb) / 4


def test_below_the_floor_any_ratio_passes() -> None:
    out, _ = read_all(gzip.compress(bytes(1024 * 1024)), BundleLimits(compression_ratio_floor_bytes=2 * 1024 * 1024))
    assert out == bytes(1024 * 1024)
