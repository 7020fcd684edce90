"""Following a rollout with a registry that moves one step per poll (no AWS, no sleeping)."""

import io

import pytest
from rich.console import Console

from axon.cli.errors import RolloutEndedError
from axon.cli.follow import follow
from axon.platforms.base import Capacity
from axon.platforms.errors import PlatformError
from axon.registry import ApiRecord, Reason, TimelineEvent, VersionRecord, VersionStatus
from tests.unit.cli.records import api, version

S = VersionStatus


class Platform:
    def __init__(self, answers: list[Capacity | PlatformError | None]) -> None:
        self.answers = answers

    def capacity(self, name: str) -> Capacity | None:
        answer = self.answers.pop(0)
        if isinstance(answer, PlatformError):
            raise answer
        return answer


class Steps:
    """Registry and context in one: poll ``n`` sees ``records[n]``; the timeline grows by one event per poll."""

    def __init__(self, records: list[VersionRecord], platform: Platform | None = None) -> None:
        self.records = records
        self.poll = 0
        self.platform = platform or Platform([])
        self.registry = self
        self.poll_seconds = 1.0
        self.now = 0.0

    def get_version(self, name: str, seq: int) -> VersionRecord:
        return self.records[min(self.poll, len(self.records) - 1)]

    def timeline(self, name: str, seq: int) -> list[TimelineEvent]:
        return [
            TimelineEvent(api="iris", seq=2, at=f"t{i}", kind="status", message=self.records[i].status.value)
            for i in range(min(self.poll, len(self.records) - 1) + 1)
        ]

    def list_versions(self, name: str) -> list[VersionRecord]:
        return [version(1, S.LIVE), self.get_version(name, 2)]

    def api(self, name: str) -> ApiRecord:
        return api(live_seq=1)

    def platform_for(self, name: str) -> Platform:
        return self.platform

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.poll += 1


def _follow(steps: Steps) -> tuple[VersionRecord, str]:
    buffer = io.StringIO()
    final = follow(steps, steps.records[0], Console(file=buffer, width=200), timeout=100)  # type: ignore[arg-type]
    return final, buffer.getvalue()


def test_prints_each_event_once_and_traffic_with_replicas_when_they_change() -> None:
    capacity = Capacity(variant="AllTraffic", requested=2, ready=1, can_change=False)
    steps = Steps(
        [
            version(2, S.DEPLOYING),
            version(2, S.SHIFTING, traffic=50),
            version(2, S.SHIFTING, traffic=50),
            version(2, S.LIVE),
        ],
        Platform([capacity, PlatformError("DescribeEndpoint failed"), capacity]),
    )
    final, out = _follow(steps)
    assert final.status == S.LIVE
    assert out.splitlines() == [
        "t0  v2  status     deploying",
        "  traffic v1:100%  replicas 1/2",
        "t1  v2  status     shifting",
        "  traffic v2:50% v1:50%",  # the platform did not answer this poll
        "t2  v2  status     shifting",
        "  traffic v2:50% v1:50%  replicas 1/2",
        "t3  v2  status     live",
    ]


def test_superseded_without_reason_went_live_between_polls() -> None:
    final, _ = _follow(Steps([version(2, S.PENDING), version(2, S.SUPERSEDED)]))
    assert final.status == S.SUPERSEDED


def test_skipped_upload_is_a_failure_with_its_reason() -> None:
    skipped = Reason(code="rollout.superseded", message="a newer upload (v3) rolled out instead")
    with pytest.raises(RolloutEndedError) as caught:
        _follow(Steps([version(2, S.PENDING), version(2, S.SUPERSEDED, reason=skipped)]))
    assert str(caught.value) == "rollout.superseded: v2 superseded: a newer upload (v3) rolled out instead"


def test_failure_without_reason_gets_a_status_code() -> None:
    with pytest.raises(RolloutEndedError, match=r"^rollout.failed: v2 failed$"):
        _follow(Steps([version(2, S.FAILED)]))
