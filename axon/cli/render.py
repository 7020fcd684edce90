"""Output: plain JSON for scripts (``-o json``, no markup) and rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from axon.cli.options import Output as Output  # re-exported: its home is the light options module
from axon.registry import TimelineEvent

DASH = "-"


_PIPE_WIDTH = 240  # piped output (grep, less) is not truncated at 80 columns; tables still take only what they need


def stdout() -> Console:
    """A console on the current stdout (made per call, so test runners that swap sys.stdout see the output)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, _PIPE_WIDTH)
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    """Plain JSON on stdout: no colours, no wrapping, keys in the order the view builds them."""
    typer.echo(json.dumps(data, indent=2))


def json_line(data: Any) -> str:
    """One JSON document on one line (``--watch -o json`` prints one per refresh)."""
    return json.dumps(data, separators=(",", ":"))


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def age(iso: str, now: float) -> str:
    """``2024-05-01T12:00:00.000Z`` -> ``3m`` (how long ago, in the largest whole unit)."""
    seconds = max(int(now - epoch(iso)), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def number(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}{unit}"
    return f"{int(value)}{unit}"


def traffic_text(traffic: Mapping[str, int]) -> str:
    return " ".join(f"{version}:{percent}%" for version, percent in traffic.items()) or DASH


def _row(view: Mapping[str, Any], now: float) -> list[str]:
    return [
        view["name"],
        view["status"],
        view["live_version"] or DASH,
        traffic_text(view["traffic"]),
        f"{view['replicas']['ready']}/{view['replicas']['requested']}",
        freshness_text(view["replicas"]),
        number(view["in_flight"]),
        number(view["latency_ms"]["p50"], " ms"),
        number(view["latency_ms"]["p99"], " ms"),
        number(view["requests"]["2xx"]),
        number(view["requests"]["4xx"]),
        number(view["requests"]["5xx"]),
        age(view["last_update"], now),
    ]


def freshness_text(replicas: Mapping[str, Any]) -> str:
    """``2/1``: ready replicas on the newest version / on older ones (a dash where the platform cannot tell)."""
    if replicas.get("up_to_date") is None:
        return DASH
    return f"{replicas['up_to_date']}/{replicas['stale']}"


def by_version_text(replicas: Mapping[str, Any]) -> str:
    """``v3 1/2, v1 2/2``: each version's ready/requested replicas."""
    by_version = replicas.get("by_version") or {}
    return ", ".join(f"{v} {c['ready']}/{c['requested']}" for v, c in by_version.items()) or DASH


_COLUMNS = (
    "api",
    "status",
    "live",
    "traffic",
    "ready/requested",
    "up-to-date/stale",
    "in-flight",
    "p50",
    "p99",
    "2xx",
    "4xx",
    "5xx",
)


def apis_table(views: Sequence[Mapping[str, Any]], now: float) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in (*_COLUMNS, "last update"):
        table.add_column(column, no_wrap=True)
    for view in views:
        table.add_row(*_row(view, now))
    return table


def api_detail(view: Mapping[str, Any], now: float) -> Table:
    """One API as ``field  value`` lines: the list row plus endpoint, URL and the last error."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for column, value in zip((*_COLUMNS, "last update"), _row(view, now), strict=True):
        table.add_row(column, value)
    table.add_row("rolling", view["rolling_version"] or DASH)
    table.add_row("replicas by version", by_version_text(view["replicas"]))
    table.add_row("platform", view["platform"])
    table.add_row("endpoint", view["endpoint"])
    table.add_row("url", view["url"] or DASH)
    error = view["last_error"]
    table.add_row("last error", f"{error['version']} {error['code']}: {error['message']}" if error else DASH)
    return table


def history_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("version", "status", "traffic", "reason", "image", "created", "updated"):
        table.add_column(column, overflow="fold")
    for row in rows:
        reason = row["reason"]
        table.add_row(
            row["version"],
            row["status"],
            f"{row['traffic_percent']}%",
            f"{reason['code']}: {reason['message']}" if reason else DASH,
            row["image_uri"] or DASH,
            row["created_at"],
            row["updated_at"],
        )
    return table


def event_line(event: TimelineEvent) -> str:
    return f"{event.at}  v{event.seq}  {event.kind:<10} {event.message}"


def timeline_table(events: Sequence[TimelineEvent]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("at", "event", "message"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(event.at, event.kind, event.message)
    return table


def timeline_view(event: TimelineEvent) -> dict[str, Any]:
    return {"at": event.at, "kind": event.kind, "message": event.message, "data": event.data}
