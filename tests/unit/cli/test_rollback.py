"""Which version ``axon rollback`` returns to, and when it refuses."""

import pytest

from axon.cli.errors import NotFoundError, RollbackRefusedError
from axon.cli.rollback import choose_target
from axon.registry import Reason, VersionStatus
from tests.unit.cli.records import api, version

S = VersionStatus
SKIPPED = Reason(code="rollout.superseded", message="a newer upload rolled out instead")


def _history() -> list:  # type: ignore[type-arg]
    """v1..v4 served in turn, v5 failed, v6 was skipped while pending, v7 is live."""
    return [
        version(1, S.SUPERSEDED),
        version(2, S.SUPERSEDED),
        version(3, S.SUPERSEDED),
        version(4, S.SUPERSEDED),
        version(5, S.FAILED, reason=Reason(code="bundle.not_gzip", message="x")),
        version(6, S.SUPERSEDED, reason=SKIPPED, image=False),
        version(7, S.LIVE),
    ]


def test_default_is_the_version_live_before_the_current_one() -> None:
    assert choose_target(api(live_seq=7), _history(), None).version == "v4"


@pytest.mark.parametrize(("to", "expected"), [("v3", "v3"), ("id4", "v4")])
def test_a_named_kept_version(to: str, expected: str) -> None:
    assert choose_target(api(live_seq=7), _history(), to).version == expected


@pytest.mark.parametrize(
    ("to", "error", "message"),
    [
        ("v7", RollbackRefusedError, "v7 is already live"),
        ("v5", RollbackRefusedError, "v5 never went live \\(failed\\)"),
        ("v6", RollbackRefusedError, "v6 never went live \\(superseded\\)"),
        ("v2", RollbackRefusedError, "v2 was pruned: only the last 3 versions"),
        ("v9", NotFoundError, "iris has no version 'v9'"),
    ],
)
def test_refusals(to: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        choose_target(api(live_seq=7), _history(), to)


def test_nothing_to_roll_back_from_or_to() -> None:
    with pytest.raises(RollbackRefusedError, match="nothing of iris is live"):
        choose_target(api(), [version(1, S.FAILED)], None)
    with pytest.raises(RollbackRefusedError, match="no version of iris was live before v1"):
        choose_target(api(live_seq=1), [version(1, S.LIVE)], None)
    with pytest.raises(RollbackRefusedError, match="iris is deleted"):
        choose_target(api(deleted=True), [version(1, S.SUPERSEDED)], "v1")
