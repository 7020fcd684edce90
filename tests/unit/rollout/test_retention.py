"""The one retention rule: which versions keep their model and config (pruning and ``axon rollback`` share it)."""

from axon.registry import Reason, VersionStatus
from axon.rollout.release import KEEP_VERSIONS, kept, to_prune, went_live
from tests.unit.cli.records import version

S = VersionStatus
SKIPPED = Reason(code="rollout.superseded", message="a newer upload rolled out instead")


def test_live_and_replaced_went_live_skipped_failed_and_rolled_back_did_not() -> None:
    assert went_live(version(1, S.LIVE))
    assert went_live(version(1, S.SUPERSEDED))
    assert not went_live(version(1, S.SUPERSEDED, reason=SKIPPED))
    assert not went_live(version(1, S.FAILED))
    assert not went_live(version(1, S.ROLLED_BACK))
    assert not went_live(version(1, S.PENDING))


def test_the_last_versions_that_went_live_are_kept_and_the_older_ones_pruned() -> None:
    history = [version(seq, S.SUPERSEDED) for seq in range(1, 6)] + [version(6, S.LIVE)]
    assert KEEP_VERSIONS == 3
    assert kept(history) == {4, 5, 6}
    assert [v.seq for v in to_prune(history)] == [1, 2, 3]


def test_versions_that_never_went_live_neither_count_nor_are_pruned() -> None:
    history = [
        version(1, S.SUPERSEDED),
        version(2, S.SUPERSEDED),
        version(3, S.FAILED),
        version(4, S.SUPERSEDED),
        version(5, S.SUPERSEDED, reason=SKIPPED),  # skipped while queued, even with an image: never served
        version(6, S.ROLLED_BACK),
        version(7, S.LIVE),
    ]
    assert kept(history) == {2, 4, 7}
    assert [v.seq for v in to_prune(history)] == [1]


def test_a_version_without_an_image_got_no_platform_resources() -> None:
    history = [version(1, S.SUPERSEDED), version(2, S.SUPERSEDED, image=False), version(3, S.LIVE)]
    assert kept(history) == {1, 3}
    assert to_prune(history) == []


def test_kept_and_pruned_split_the_served_versions() -> None:
    history = [version(seq, S.SUPERSEDED) for seq in range(1, 10)] + [version(10, S.LIVE)]
    assert kept(history) | {v.seq for v in to_prune(history)} == set(range(1, 11))
    assert kept(history).isdisjoint(v.seq for v in to_prune(history))
