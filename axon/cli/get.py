"""``axon get [NAME] [--watch]``: status, traffic, replicas and request statistics of every API or one.

Each API is shown as its own platform serves it: the URL its clients call (SageMaker Runtime, or the ECS load
balancer's ``/apis/<api>/invocations``), its replicas split by the version they run, and its request statistics
(``AWS/SageMaker`` or the ECS target groups' ``AWS/ApplicationELB`` metrics, in one GetMetricData; the front door's
counters on the local stack).

Imports past boto3 (the registry's models, the platforms, rich) happen where they are first needed, after the
first AWS call (discovery), so a missing stack or missing credentials are reported without loading them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from botocore.exceptions import ClientError

from axon.cli.context import CliContext, context_of
from axon.cli.errors import StatsUnavailableError, describe
from axon.cli.options import Output, valid_api

if TYPE_CHECKING:
    from axon.cli.stats import AlbTargets, ApiStats
    from axon.platforms.base import Capacity, ReplicaSet
    from axon.registry import ApiRecord


def _warn(message: str) -> None:
    from axon.cli import render

    render.stderr().print(f"warning: {message}", markup=False)


def _fleet(cli: CliContext, api: ApiRecord) -> tuple[Capacity | None, list[ReplicaSet] | None]:
    """The live variant's capacity, and the API's replicas by version (``None`` where unknown)."""
    from axon.platforms.errors import PlatformError

    if api.deleted:
        return None, []
    try:
        platform = cli.platform_for(api.platform)
        capacity = platform.capacity(api.api)
    except PlatformError as error:
        _warn(f"replicas of {api.api} unknown: {error}")
        return None, None
    try:
        return capacity, platform.replica_sets(api.api)
    except (PlatformError, ClientError) as error:
        _warn(f"replicas of {api.api} by version unknown: {describe(error)}")
        return capacity, None


def _alb_targets(cli: CliContext, apis: list[str]) -> dict[str, AlbTargets]:
    """The production rule's target groups of each ECS API, from one DescribeRules of the listener."""
    from axon.cli.stats import AlbTargets
    from axon.platforms.ecs import listener as alb

    config = cli.ecs_config
    rules = alb.Listener(cli.client("elbv2"), config.listener_arn).rules()
    load_balancer = alb.load_balancer_dimension(config.listener_arn)
    found = {}
    for api in apis:
        production = next((r for r in rules if alb.is_api_rule(api, r) and alb.rule_version(r) is None), None)
        groups = tuple(alb.arn_resource(arn) for arn, _ in alb.weights(production))
        found[api] = AlbTargets(load_balancer, groups)
    return found


def _stats(cli: CliContext, apis: list[ApiRecord]) -> dict[str, ApiStats]:
    from axon.platforms.errors import PlatformError

    wanted = [a for a in apis if not a.deleted]
    ecs: dict[str, AlbTargets] = {}
    on_aws = cli.deployment.local_url is None  # locally the front door counts every API's requests alike
    ecs_apis = [a.api for a in wanted if a.platform == "ecs"]
    if on_aws and ecs_apis:
        try:
            ecs = _alb_targets(cli, ecs_apis)
        except (PlatformError, ClientError) as error:
            _warn(f"request statistics of ECS APIs unavailable: {describe(error)}")
        wanted = [a for a in wanted if a.platform != "ecs" or a.api in ecs]
    if not wanted:
        return {}
    try:
        return cli.stats.fetch([a.api for a in wanted], ecs)
    except StatsUnavailableError as error:
        _warn(f"request statistics unavailable: {error.message}")
        return {}


def _urls(cli: CliContext, apis: list[ApiRecord]) -> dict[str, str | None]:
    """The URL each API's clients call; ``None`` for ECS APIs when ``/axon/ecs/config`` cannot be read."""
    from axon.platforms.errors import PlatformError

    urls: dict[str, str | None] = {}
    ecs_readable = True
    for api in apis:
        urls[api.api] = None
        if api.platform == "ecs" and not ecs_readable:
            continue
        try:
            urls[api.api] = cli.runtime_url(api.api, api.platform)
        except (PlatformError, ClientError) as error:
            _warn(f"the URL of ECS APIs is unknown: {describe(error)}")
            ecs_readable = False
    return urls


def views(cli: CliContext, apis: list[ApiRecord]) -> list[dict[str, Any]]:
    from axon.cli.status import api_view

    stats = _stats(cli, apis)
    urls = _urls(cli, apis)
    shown = []
    for api in apis:
        capacity, replica_sets = _fleet(cli, api)
        shown.append(
            api_view(
                api,
                cli.registry.list_versions(api.api),
                capacity,
                stats.get(api.api),
                url=urls[api.api],
                now=cli.now(),
                replica_sets=replica_sets,
            )
        )
    return shown


def _show(cli: CliContext, name: str | None, output: Output, *, watching: bool, interval: float) -> None:
    apis = [cli.api(name)] if name else cli.registry.list_apis()
    shown = views(cli, apis)
    from axon.cli import render  # rich: only once there is something to print

    if output == Output.json:
        document = shown[0] if name else shown
        if watching:  # one document per line, so a script can read them as they come
            typer.echo(render.json_line(document))
        else:
            render.emit_json(document)
        return
    console = render.stdout()
    if watching:
        if console.is_terminal:
            console.clear()
        at = datetime.fromtimestamp(cli.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        console.print(f"every {interval:g} s: axon get{f' {name}' if name else ''}   {at}", markup=False)
    if name:
        console.print(render.api_detail(shown[0], cli.now()))
    elif shown:
        console.print(render.apis_table(shown, cli.now()))
    else:
        console.print("no APIs yet: axon deploy DIR --api NAME", markup=False)


def get(ctx: typer.Context, name: str | None, output: Output, *, watch: bool = False, interval: float = 2.0) -> None:
    """``axon get``, run by :func:`axon.cli.app.get` (which declares its options and help).

    ``--watch`` shows it again every ``interval`` seconds (the context's ``clock`` and ``sleep``) until Ctrl-C,
    which exits 0.
    """
    cli = context_of(ctx)
    if name:
        valid_api(name)
    if not watch:
        _show(cli, name, output, watching=False, interval=interval)
        return
    try:
        while True:
            started = cli.clock()
            _show(cli, name, output, watching=True, interval=interval)
            cli.sleep(max(interval - (cli.clock() - started), 0.0))
    except KeyboardInterrupt:
        return  # Ctrl-C is how --watch ends: a normal exit
