"""The ``axon`` command: one typer app, one module per verb, one error handler for all of them."""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from axon.cli import delete, deploy, get, history, local, logs, predict, rollback
from axon.cli.errors import describe

DEBUG_ENV = "AXON_DEBUG"


class AxonGroup(TyperGroup):
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
    add_completion=False,
    pretty_exceptions_enable=False,
)


app.command("deploy")(deploy.deploy)
app.command("get")(get.get)
app.command("history")(history.history)
app.command("predict")(predict.predict)
app.command("rollback")(rollback.rollback)
app.command("delete")(delete.delete)
app.command("logs")(logs.logs)
app.add_typer(local.app, name="local")


def main() -> None:
    """Console script ``axon``."""
    app()
