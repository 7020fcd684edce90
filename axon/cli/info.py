"""``axon info``: which installation this shell's ``axon`` talks to, before anything is deployed or deleted.

The account comes from STS GetCallerIdentity (a call any credentials may make); the rest from the discovery every
command runs, so what ``info`` shows is exactly what ``deploy`` would use.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import typer

from axon import names
from axon.cli import render
from axon.cli.context import context_of
from axon.cli.options import Output


def info(ctx: typer.Context, output: Output) -> None:
    """``axon info``, run by :func:`axon.cli.app.info` (which declares its options and help)."""
    cli = context_of(ctx)
    identity = cli.client("sts").get_caller_identity()
    deployment = cli.deployment
    view: dict[str, Any] = {
        "axon": version("axon"),
        "target": "local" if deployment.local_url else "aws",
        "endpoint_url": deployment.local_url,
        "profile": cli.target.profile,
        "region": cli.region,
        "account": identity["Account"],
        "caller_arn": identity["Arn"],
        "stack": None if deployment.local_url else names.CORE_STACK,
        "models_bucket": deployment.bucket,
        "registry_table": deployment.table,
        "state_machine_arn": deployment.state_machine_arn,
        "stack_outputs": dict(deployment.outputs),
    }
    if output == Output.json:
        render.emit_json(view)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key, value in view.items():
        if key != "stack_outputs":
            table.add_row(key, "-" if value is None else str(value))
    for key, value in view["stack_outputs"].items():
        table.add_row(f"output {key}", value)
    render.stdout().print(table)
