"""``axon history NAME``: every version with its status and reason, and one version's rollout timeline."""

from __future__ import annotations

from typing import Annotated

import typer

from axon.cli import render
from axon.cli.context import context_of
from axon.cli.errors import NotFoundError
from axon.cli.options import ApiArgument, OutputOption, valid_api
from axon.cli.render import Output

VersionOption = Annotated[
    str | None,
    typer.Option("--version", help="a version (label vN or S3 VersionId): its timeline; default the newest"),
]


def history(
    ctx: typer.Context, name: ApiArgument, version: VersionOption = None, output: OutputOption = Output.table
) -> None:
    """List the versions of NAME. With -o json: the list, or one version with its timeline when --version is set."""
    cli = context_of(ctx)
    cli.api(valid_api(name))
    versions = cli.registry.list_versions(name)
    chosen = versions[-1] if versions else None
    if version is not None:
        chosen = cli.registry.find_version(name, version)
        if chosen is None:
            raise NotFoundError(f"{name} has no version {version!r} (see `axon history {name}`)")
    if output == Output.json:
        if version is not None and chosen is not None:
            events = cli.registry.timeline(name, chosen.seq)
            render.emit_json({**chosen.history_view(), "timeline": [render.timeline_view(e) for e in events]})
        else:
            render.emit_json([v.history_view() for v in versions])
        return
    console = render.stdout()
    console.print(render.history_table([v.history_view() for v in versions]))
    if chosen is not None:
        console.print(f"\ntimeline of {chosen.version}", markup=False)
        console.print(render.timeline_table(cli.registry.timeline(name, chosen.seq)))
