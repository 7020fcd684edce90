"""Follow one rollout from the registry until it ends: timeline events as they arrive, traffic and replicas.

Polling goes through the context's ``sleep`` and ``clock``, so tests advance the rollout between polls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from axon.cli import render
from axon.cli.errors import FollowTimeoutError, NotFoundError, RolloutEndedError
from axon.cli.options import Output
from axon.cli.render import event_line, traffic_text
from axon.cli.status import traffic_split
from axon.platforms.errors import PlatformError
from axon.registry import VersionRecord, VersionStatus
from axon.rollout.release import spec_of

if TYPE_CHECKING:
    from axon.cli.context import CliContext

APPEAR_SECONDS = 120.0  # the intake registers an upload within seconds of the S3 event; this is generous


def find_upload(ctx: CliContext, api: str, version_id: str, *, timeout: float = APPEAR_SECONDS) -> VersionRecord:
    """The version the intake registered for the object version ``version_id``."""
    deadline = ctx.clock() + timeout
    while True:
        record = ctx.registry.find_version(api, version_id)
        if record is not None:
            return record
        if ctx.clock() >= deadline:
            raise NotFoundError(
                f"the upload (VersionId {version_id}) was not registered within {timeout:.0f} s: "
                "is the upload rule enabled (local: is `axon local up` running)?"
            )
        ctx.sleep(ctx.poll_seconds)


def _progress(ctx: CliContext, record: VersionRecord) -> str:
    """``traffic v3:10% v2:90%  replicas 1/2`` while traffic moves; replicas only where the platform says."""
    api = ctx.api(record.api)
    line = f"traffic {traffic_text(traffic_split(api, ctx.registry.list_versions(record.api)))}"
    try:
        capacity = ctx.platform_for(spec_of(record).compute.platform).capacity(record.api)
    except PlatformError:
        return line  # a failed DescribeEndpoint must not end the follow; the next poll tries again
    return f"{line}  replicas {capacity.ready}/{capacity.requested}" if capacity else line


def follow(ctx: CliContext, record: VersionRecord, console: Console, *, timeout: float) -> VersionRecord:
    """Print the rollout of ``record`` until a final status; raise unless it went live."""
    deadline = ctx.clock() + timeout
    seen: set[tuple[str, str, str]] = set()
    last_progress = ""
    while True:
        record = ctx.registry.get_version(record.api, record.seq)
        for event in ctx.registry.timeline(record.api, record.seq):
            if (event.at, event.kind, event.message) not in seen:
                seen.add((event.at, event.kind, event.message))
                console.print(event_line(event), markup=False)
        if record.status in (VersionStatus.DEPLOYING, VersionStatus.SHIFTING):
            progress = _progress(ctx, record)
            if progress != last_progress:
                console.print(f"  {progress}", markup=False)
                last_progress = progress
        if record.status.is_final:
            return _outcome(record)
        if ctx.clock() >= deadline:
            raise FollowTimeoutError(
                f"{record.version} is still {record.status.value} after {timeout:.0f} s; the rollout goes on "
                f"(axon get {record.api})"
            )
        ctx.sleep(ctx.poll_seconds)


def _outcome(record: VersionRecord) -> VersionRecord:
    # Superseded without a reason: it went live and a newer version already replaced it between two polls.
    if record.status == VersionStatus.LIVE or (record.status == VersionStatus.SUPERSEDED and record.reason is None):
        return record
    reason = record.reason
    message = f"{record.version} {record.status.value}" + (f": {reason.message}" if reason else "")
    raise RolloutEndedError(message, code=reason.code if reason else f"rollout.{record.status.value}")


def watch(ctx: CliContext, record: VersionRecord, *, timeout: float, console: Console | None = None) -> VersionRecord:
    """Follow ``record`` for a command: Ctrl-C stops following (exit 130), never the rollout."""
    console = console or render.stdout()
    console.print(f"following {record.version} of {record.api} (Ctrl-C stops following; the rollout goes on)")
    try:
        final = follow(ctx, record, console, timeout=timeout)
    except KeyboardInterrupt:
        render.stderr().print(f"stopped following {record.version}; the rollout goes on (axon get {record.api})")
        raise typer.Exit(130) from None
    console.print(f"{final.version} of {final.api} went live", markup=False)
    return final


def report_upload(ctx: CliContext, api: str, version_id: str, *, wait: bool, timeout: float, output: Output) -> None:
    """What deploy and rollback end with, once their object version is in S3.

    For people: follow the rollout (``--wait``). For scripts (``-o json``): progress on stderr, and on stdout one
    object (the API and the version as ``axon history -o json`` shows it: label, VersionId, status, reason), also
    when the rollout ends elsewhere than live, before the error line and exit status 1.
    """
    if output == Output.table:
        if wait:
            watch(ctx, find_upload(ctx, api, version_id), timeout=timeout)
        return
    record = find_upload(ctx, api, version_id)
    try:
        if wait:
            record = watch(ctx, record, timeout=timeout, console=render.stderr())
    except (RolloutEndedError, FollowTimeoutError):
        render.emit_json({"api": api, **ctx.registry.get_version(api, record.seq).history_view()})
        raise
    render.emit_json({"api": api, **record.history_view()})
