"""The single pass: where stock tarfile would read a huge header whole or end quietly at damage, it refuses."""

import gzip

import pytest

from axon.bundle import BundleError, BundleLimits, Member, MemberKind
from axon.bundle.archive import walk_bundle
from tests.unit.bundle.builder import PREDICTOR, BundleBuilder, ForwardOnlyStream, valid


def second_header_offset() -> int:
    return 512 + -(-len(PREDICTOR) // 512) * 512  # predictor.py's header and padded data


def walk(tar: bytes, limits: BundleLimits | None = None) -> list[Member]:
    seen: list[Member] = []
    walk_bundle(ForwardOnlyStream(gzip.compress(tar)), limits or BundleLimits(), lambda m, data: seen.append(m))
    return seen


def refusal(tar: bytes, limits: BundleLimits | None = None) -> BundleError:
    with pytest.raises(BundleError) as caught:
        walk(tar, limits)
    return caught.value


def test_visits_members_in_order_with_file_readers_only() -> None:
    readers: dict[str, bytes | None] = {}
    blob = valid().dir("d").symlink("d/l", "../predictor.py").build()
    result = walk_bundle(
        ForwardOnlyStream(blob), BundleLimits(), lambda m, data: readers.update({m.name: data.read() if data else None})
    )
    assert readers == {"predictor.py": PREDICTOR, "d": None, "d/l": None}
    assert result.checker.kind("d/l") is MemberKind.SYMLINK
    assert result.compressed_bytes == len(blob)


def test_a_huge_extended_header_is_refused_before_it_is_read() -> None:
    error = refusal(valid().file("x" * 900).tar(), BundleLimits(max_header_bytes=512))
    assert (error.code, "extended tar header" in error.message) == ("bundle.too_large", True)


def test_a_damaged_header_after_the_first_is_corruption_not_the_end() -> None:
    tar = bytearray(valid().file("weights.bin", "w").tar())
    tar[second_header_offset()] ^= 0xFF  # first byte of the name: the checksum no longer matches
    error = refusal(bytes(tar))
    assert (error.code, "damaged tar header" in error.message) == ("bundle.corrupt", True)


def test_a_tar_cut_between_members_is_corruption() -> None:
    tar = valid().file("weights.bin", "w").tar()[: second_header_offset()]
    assert refusal(tar).code == "bundle.corrupt"


def test_a_tar_cut_inside_member_data_is_corruption() -> None:
    tar = BundleBuilder().file("w.bin", b"x" * 5000).tar()[:2048]
    assert refusal(tar).code == "bundle.corrupt"
