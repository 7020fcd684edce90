"""``--since`` parsing and the tail that never prints an event twice."""

from collections.abc import Iterator
from typing import Any

import pytest

from axon.cli.errors import InvalidInputError
from axon.cli.logs import LogTail, parse_since


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("10m", 600), ("2h", 7200), ("1d", 86400), (" 3m ", 180)])
def test_parse_since(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["10", "m", "1w", "-5m", "1.5h"])
def test_parse_since_refuses(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_since(text)


class FakeLogs:
    """FilterLogEvents over a list of events: everything at or after startTime, two events per page."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.starts: list[int] = []

    def get_paginator(self, name: str) -> "FakeLogs":
        assert name == "filter_log_events"
        return self

    def paginate(self, logGroupName: str, startTime: int) -> Iterator[dict[str, Any]]:
        self.starts.append(startTime)
        matching = [e for e in self.events if e["timestamp"] >= startTime]
        for start in range(0, len(matching), 2):
            yield {"events": matching[start : start + 2]}

    def add(self, event_id: str, timestamp: int) -> None:
        self.events.append({"eventId": event_id, "timestamp": timestamp, "message": event_id})


def test_each_event_once_even_when_several_share_the_newest_millisecond() -> None:
    logs = FakeLogs()
    logs.add("b", 20)
    logs.add("a", 10)
    logs.add("c", 20)
    tail = LogTail(logs, "g", 0)
    assert [e["eventId"] for e in tail.poll()] == ["a", "b", "c"]
    assert tail.poll() == []
    logs.add("d", 20)  # arrived late, same millisecond as the newest printed
    logs.add("e", 30)
    assert [e["eventId"] for e in tail.poll()] == ["d", "e"]
    assert tail.poll() == []
    assert logs.starts == [0, 20, 20, 30]
