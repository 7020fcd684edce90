"""``axon local up``: run the whole platform on this machine in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from axon import names
from axon.cli.errors import CliError
from axon.cli.groups import LightHelpGroup

app = typer.Typer(cls=LightHelpGroup, help="Run axon on this machine: no Docker, no AWS account.", no_args_is_help=True)


@app.command("up")
def up(
    port: Annotated[int, typer.Option(help="The one port every AWS API is served on.")] = names.LOCAL_PORT,
    tick_seconds: Annotated[float, typer.Option(help="How often the autoscaler's schedule fires.")] = 60.0,
    wait_scale: Annotated[
        float, typer.Option(help="Step Functions waits last seconds x this (1.0 = as on AWS).")
    ] = 1.0,
    time_scale: Annotated[float, typer.Option(help="SageMaker bake/termination waits are divided by this.")] = 1.0,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Bundles, environments and replica logs [default: ~/.cache/axon].")
    ] = None,
) -> None:
    """Start the local stack; it prints one line when ready, then the exports a shell needs."""
    try:
        from axon_local import images
        from axon_local.stack import LocalOptions, LocalStack  # heavy: moto, uvicorn; only for this verb
    except ModuleNotFoundError as missing:
        raise CliError(
            f"`axon local up` needs the local stack's extra (missing {missing.name}): "
            "pipx install 'axon[local]' (or pip install 'axon[local]')"
        ) from None

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    stack = LocalStack(
        LocalOptions(
            port=port,
            tick_seconds=tick_seconds,
            wait_scale=wait_scale,
            time_scale=time_scale,
            cache_dir=cache_dir or images.default_cache_dir(),
        )
    ).start()
    try:
        typer.echo(f"axon local stack ready on {stack.url} in {time.monotonic() - started:.1f}s (Ctrl-C stops it)")
        for name, value in stack.environment().items():
            typer.echo(f"export {name}={value}")
        stopping.wait()
    finally:
        typer.echo("stopping the local stack...", err=True)
        stack.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
