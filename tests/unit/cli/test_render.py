"""Renderers: human numbers and ages, and tables that show what the JSON view holds."""

import io

import pytest
from rich.console import Console

from axon.cli import render
from axon.registry import TimelineEvent

VIEW = {
    "name": "iris",
    "status": "live",
    "live_version": "v2",
    "rolling_version": None,
    "traffic": {"v2": 100},
    "replicas": {
        "requested": 2,
        "ready": 1,
        "up_to_date": 1,
        "stale": 2,
        "by_version": {"v2": {"requested": 2, "ready": 1}, "v1": {"requested": 2, "ready": 2}},
    },
    "endpoint": "axon-iris",
    "url": "http://x/endpoints/axon-iris/invocations",
    "platform": "sagemaker",
    "last_error": {"version": "v1", "code": "bundle.not_gzip", "message": "not gzip"},
    "in_flight": 0.25,
    "latency_ms": {"p50": 3.0, "p99": None},
    "requests": {"2xx": 12, "4xx": 0, "5xx": None},
    "last_update": "2024-05-01T12:00:00.000Z",
}
NOON = 1_714_564_800.0  # 2024-05-01T12:00:00Z


def _text(renderable: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(renderable)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("now", "expected"),
    [(NOON + 42, "42s"), (NOON + 60 * 5 + 59, "5m"), (NOON + 7_200, "2h"), (NOON + 3 * 86_400, "3d"), (NOON - 5, "0s")],
)
def test_age(now: float, expected: str) -> None:
    assert render.age("2024-05-01T12:00:00.000Z", now) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "-"), (0, "0 ms"), (2.0, "2 ms"), (2.25, "2.2 ms"), (17, "17 ms")]
)
def test_number(value: float | None, expected: str) -> None:
    assert render.number(value, " ms") == expected


def test_list_row_and_detail() -> None:
    row = _text(render.apis_table([VIEW], NOON + 120)).splitlines()[1].split()
    assert row == ["iris", "live", "v2", "v2:100%", "1/2", "1/2", "0.2", "3", "ms", "-", "12", "0", "-", "2m"]
    detail = {line.split(maxsplit=1)[0]: line.split()[1:] for line in _text(render.api_detail(VIEW, NOON)).splitlines()}
    assert detail["last"] == ["error", "v1", "bundle.not_gzip:", "not", "gzip"]
    assert detail["url"] == ["http://x/endpoints/axon-iris/invocations"]
    assert detail["rolling"] == ["-"]
    assert detail["replicas"] == ["by", "version", "v2", "1/2,", "v1", "2/2"]
    assert detail["up-to-date/stale"] == ["1/2"]


def test_replicas_by_version_unknown_are_dashes() -> None:
    view = {**VIEW, "replicas": {"requested": 2, "ready": 1, "up_to_date": None, "stale": None, "by_version": None}}
    row = _text(render.apis_table([view], NOON + 120)).splitlines()[1].split()
    assert row[4:6] == ["1/2", "-"]
    assert render.by_version_text(view["replicas"]) == "-"


def test_history_and_timeline_tables() -> None:
    rows = [
        {
            "version": "v1",
            "status": "failed",
            "traffic_percent": 0,
            "reason": {"code": "a.b", "message": "bad"},
            "image_uri": "",
            "created_at": "c",
            "updated_at": "u",
        }
    ]
    assert _text(render.history_table(rows)).splitlines()[1].split() == [
        "v1",
        "failed",
        "0%",
        "a.b:",
        "bad",
        "-",
        "c",
        "u",
    ]
    event = TimelineEvent(
        api="iris", seq=1, at="2024-05-01T12:00:00.000Z", kind="status", message="v1 is live", data={"status": "live"}
    )
    assert "status  v1 is live" in _text(render.timeline_table([event]))
    assert render.event_line(event) == "2024-05-01T12:00:00.000Z  v1  status     v1 is live"
    assert render.timeline_view(event) == {
        "at": event.at,
        "kind": "status",
        "message": "v1 is live",
        "data": {"status": "live"},
    }


def test_emit_json_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    render.emit_json({"b": [1], "a": "[bold]x[/bold]"})
    assert capsys.readouterr().out == '{\n  "b": [\n    1\n  ],\n  "a": "[bold]x[/bold]"\n}\n'
