"""``axon get [NAME]``: status, traffic, replicas and request statistics of every API or one.

Imports past boto3 (the registry's models, the platforms, rich) happen where they are first needed, after the
first AWS call (discovery), so a missing stack or missing credentials are reported without loading them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from axon.cli.context import CliContext, context_of
from axon.cli.errors import StatsUnavailableError
from axon.cli.options import Output, valid_api

if TYPE_CHECKING:
    from axon.cli.stats import ApiStats
    from axon.platforms.base import Capacity
    from axon.registry import ApiRecord


def _warn(message: str) -> None:
    from axon.cli import render

    render.stderr().print(f"warning: {message}", markup=False)


def _capacity(cli: CliContext, api: ApiRecord) -> Capacity | None:
    from axon.platforms.errors import PlatformError

    if api.deleted:
        return None
    try:
        return cli.platform_for(api.platform).capacity(api.api)
    except PlatformError as error:
        _warn(f"replicas of {api.api} unknown: {error}")
        return None


def _stats(cli: CliContext, apis: list[ApiRecord]) -> dict[str, ApiStats]:
    wanted = [a.api for a in apis if not a.deleted]
    if not wanted:
        return {}
    try:
        return cli.stats.fetch(wanted)
    except StatsUnavailableError as error:
        _warn(f"request statistics unavailable: {error.message}")
        return {}


def views(cli: CliContext, apis: list[ApiRecord]) -> list[dict[str, Any]]:
    from axon.cli.status import api_view

    stats = _stats(cli, apis)
    return [
        api_view(
            api,
            cli.registry.list_versions(api.api),
            _capacity(cli, api),
            stats.get(api.api),
            url=cli.runtime_url(api.api),
            now=cli.now(),
        )
        for api in apis
    ]


def get(ctx: typer.Context, name: str | None, output: Output) -> None:
    """``axon get``, run by :func:`axon.cli.app.get` (which declares its options and help)."""
    cli = context_of(ctx)
    apis = [cli.api(valid_api(name))] if name else cli.registry.list_apis()
    shown = views(cli, apis)
    from axon.cli import render  # rich: only once there is something to print

    if output == Output.json:
        render.emit_json(shown[0] if name else shown)
    elif name:
        render.stdout().print(render.api_detail(shown[0], cli.now()))
    elif shown:
        render.stdout().print(render.apis_table(shown, cli.now()))
    else:
        render.stdout().print("no APIs yet: axon deploy DIR --api NAME", markup=False)
