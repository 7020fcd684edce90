"""The ``axon`` command: one typer app, one module per verb, one error handler for all of them.

This module is the command line's surface only: every verb's arguments, options and help text, declared with the
light types of :mod:`axon.cli.options`. Each verb imports its implementation (``axon.cli.<verb>``, which brings
boto3, rich, the registry...) inside its body, so ``axon --help`` and ``axon <verb> --help`` load none of that
(``tests/unit/cli/test_import_time.py`` checks; ``python -m bench.cli`` measures).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from axon import names
from axon.cli import local
from axon.cli.errors import describe
from axon.cli.groups import LightHelpGroup
from axon.cli.options import (
    DEFAULT_TIMEOUT,
    JSON,
    TARGET_META,
    ApiArgument,
    Output,
    OutputOption,
    Target,
    TimeoutOption,
    WaitOption,
)

DEBUG_ENV = "AXON_DEBUG"


class AxonGroup(LightHelpGroup):
    """Every subcommand runs inside :meth:`invoke`, so this is the one place errors become a single line.

    typer's own exceptions (usage errors, ``Exit``, ``Abort``) pass through to typer; everything else prints
    ``error: <what happened>`` on stderr and exits 1. ``AXON_DEBUG=1`` re-raises for the traceback.
    """

    # ``ctx`` is typer's vendored click context, whose class typer does not export: typed as Any.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            typer.echo(f"error: {describe(error)}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=AxonGroup,
    name="axon",
    help="Deploy models as autoscaled, blue-green-updated APIs on AWS (or the local stack).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"axon {version('axon')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile (default: AWS_PROFILE, else the default profile)")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region (default: AWS_REGION, else the profile's region)")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            envvar=names.LOCAL_ENDPOINT_ENV,
            help="the local stack's URL (what `axon local up` prints); left out: AWS",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="print axon's version and exit")
    ] = False,
) -> None:
    """Options every command shares: where to talk to. Only recorded here; clients are made on first use."""
    ctx.meta[TARGET_META] = Target(profile, region, endpoint_url)


@app.command("deploy")
def deploy(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="the bundle's directory: axon.yaml, predictor.py, model files")],
    api: Annotated[str, typer.Option("--api", help=r"API name, \[a-z0-9-]{1,40}", show_default=False)],
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = Output.table,
) -> None:
    """Roll out DIR as a new version of API NAME (blue-green, with the spec's strategy and safety checks).

    With -o json: the version (label, VersionId, status, reason) on stdout, progress on stderr.
    """
    from axon.cli.deploy import deploy as run

    run(ctx, directory, api, wait=wait, timeout=timeout, output=output)


@app.command("get")
def get(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="one API; all of them when left out", show_default=False)] = None,
    output: OutputOption = Output.table,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="show it again every --interval seconds until Ctrl-C")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="seconds between two --watch refreshes")] = 2.0,
) -> None:
    """Show APIs: status, live version, traffic split, replicas, in-flight, latency, response codes (last 5 min)."""
    from axon.cli.get import get as run

    run(ctx, name, output, watch=watch, interval=interval)


@app.command("history")
def history(
    ctx: typer.Context,
    name: ApiArgument,
    version: Annotated[
        str | None,
        typer.Option("--version", help="a version (label vN or S3 VersionId): its timeline; default the newest"),
    ] = None,
    output: OutputOption = Output.table,
) -> None:
    """List the versions of NAME. With -o json: the list, or one version with its timeline when --version is set."""
    from axon.cli.history import history as run

    run(ctx, name, version, output)


@app.command("predict")
def predict(
    ctx: typer.Context,
    name: ApiArgument,
    data: Annotated[str, typer.Option("--data", "-d", help="the payload: text, @file or @- (stdin)")],
    content_type: Annotated[str, typer.Option("--content-type", help="the payload's media type")] = JSON,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="AXON_TOKEN",
            show_envvar=True,
            help="bearer token for ECS APIs behind the load balancer's JWT verification (not sent otherwise)",
            show_default=False,
        ),
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="print the answer's parts as they arrive (for predictors that yield)")
    ] = False,
) -> None:
    """Send one prediction request to NAME and print the answer's body.

    SageMaker APIs: SageMaker Runtime InvokeEndpoint (--stream: InvokeEndpointWithResponseStream). ECS APIs: POST
    to the load balancer's /apis/NAME/invocations.
    """
    from axon.cli.predict import predict as run

    run(ctx, name, data, content_type, token, stream)


@app.command("submit")
def submit(
    ctx: typer.Context,
    name: ApiArgument,
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="the request body, as text", show_default=False)
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="the request body, from a file", show_default=False)
    ] = None,
    content_type: Annotated[str, typer.Option("--content-type", help="the body's media type")] = JSON,
    output: OutputOption = Output.table,
) -> None:
    """Queue one request for async API NAME (kind: async) and print its id and where its answer will be.

    The body goes to s3://<models-bucket>/inputs/NAME/<id>, then SageMaker Runtime InvokeEndpointAsync; the answer
    lands under results/NAME/. Read it with `axon result ID`.
    """
    from axon.cli.submit import submit as run

    run(ctx, name, data, file, content_type, output)


@app.command("result")
def result(
    ctx: typer.Context,
    identifier: Annotated[str, typer.Argument(metavar="ID", help="the id `axon submit` printed (<api>/<hex>)")],
    wait: Annotated[bool, typer.Option("--wait", help="wait until the answer (or the failure) is there")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds --wait waits before giving up")] = 300.0,
    output: OutputOption = Output.table,
) -> None:
    """Print the answer of a submitted request (results/<api>/<id>.out); a failed one exits 1 with its reason.

    Without --wait, a request with no answer yet exits 1 (result.pending). With -o json: id, status, location,
    content_type and body.
    """
    from axon.cli.submit import result as run

    run(ctx, identifier, wait, timeout, output)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: ApiArgument,
    to: Annotated[
        str | None, typer.Option("--to", help="version label (vN) or S3 VersionId; default: the previous live one")
    ] = None,
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = Output.table,
) -> None:
    """Roll NAME back to a kept version with a blue-green rollout (the same workflow and safety checks).

    With -o json: the new version (label, VersionId, status, reason) on stdout, progress on stderr.
    """
    from axon.cli.rollback import rollback as run

    run(ctx, name, to, wait=wait, timeout=timeout, output=output)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: ApiArgument,
    purge: Annotated[bool, typer.Option("--purge", help="also delete every uploaded bundle and kept copy")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    output: OutputOption = Output.table,
) -> None:
    """Delete NAME's endpoint (or service), configs, models, alarms and autoscaler state; mark it deleted."""
    from axon.cli.delete import delete as run

    run(ctx, name, purge=purge, yes=yes, output=output)


@app.command("pack")
def pack(
    directory: Annotated[Path, typer.Argument(help="the bundle's directory: axon.yaml, predictor.py, model files")],
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-f", help="the archive to write [default: DIR.tar.gz]")
    ] = None,
    api: Annotated[str | None, typer.Option("--api", help="check axon.yaml's name against this API")] = None,
    output: OutputOption = Output.table,
) -> None:
    """Pack DIR into the reproducible .tar.gz deploy uploads, and check it as the workflow will (offline)."""
    from axon.cli.bundles import pack_bundle

    pack_bundle(directory, output_file, api, output)


@app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="a bundle directory, or a .tar.gz made by any tool")],
    api: Annotated[str | None, typer.Option("--api", help="check axon.yaml's name against this API")] = None,
    output: OutputOption = Output.table,
) -> None:
    """Check a bundle with the workflow's own inspector, offline: exit 0 if it would be accepted, else its reason."""
    from axon.cli.bundles import validate_bundle

    validate_bundle(path, api, output)


@app.command("info")
def info(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    """Show where axon talks to: AWS or the local stack, account, region, profile, and the deployment's resources."""
    from axon.cli.info import info as run

    run(ctx, output)


@app.command("logs")
def logs(
    ctx: typer.Context,
    name: ApiArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new events until Ctrl-C")] = False,
    since: Annotated[str, typer.Option("--since", help="how far back to start: 30s, 10m, 2h, 1d")] = "10m",
    output: OutputOption = Output.table,
) -> None:
    """Print NAME's logs (every replica, in time order). With -o json: one JSON object per line."""
    from axon.cli.logs import logs as run

    run(ctx, name, follow=follow, since=since, output=output)


app.add_typer(local.app, name="local")


MIN_PYTHON = (3, 11, 4)  # tarfile.data_filter: the bundle inspector's extraction rules (pyproject's requires-python)


def main() -> None:
    """Console script ``axon``; refuses an older Python up front (the single-file build runs on any ``python3``)."""
    if sys.version_info < MIN_PYTHON:
        found = ".".join(map(str, sys.version_info[:3]))
        sys.exit(f"error: axon needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is Python {found}")
    app()
