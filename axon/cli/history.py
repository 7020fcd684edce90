"""``axon history NAME``: every version with its status and reason, and one version's rollout timeline.

rich (``axon.cli.render``) is imported once the registry has answered: the first AWS call (discovery) comes first.
"""

from __future__ import annotations

import typer

from axon.cli.context import context_of
from axon.cli.errors import NotFoundError
from axon.cli.options import Output, valid_api


def history(ctx: typer.Context, name: str, version: str | None, output: Output) -> None:
    """``axon history``, run by :func:`axon.cli.app.history` (which declares its options and help)."""
    cli = context_of(ctx)
    cli.api(valid_api(name))
    versions = cli.registry.list_versions(name)
    chosen = versions[-1] if versions else None
    if version is not None:
        chosen = cli.registry.find_version(name, version)
        if chosen is None:
            raise NotFoundError(f"{name} has no version {version!r} (see `axon history {name}`)")
    from axon.cli import render

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
