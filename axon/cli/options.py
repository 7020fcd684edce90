"""Arguments and options shared by several verbs, so each is spelled and documented once."""

from __future__ import annotations

from typing import Annotated

import typer

from axon import names
from axon.cli.errors import InvalidInputError
from axon.cli.render import Output

OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts")]
ApiArgument = Annotated[str, typer.Argument(help="API name, [a-z0-9-]{1,40}", show_default=False)]
WaitOption = Annotated[
    bool, typer.Option("--wait/--no-wait", help="follow the rollout until it ends; exit 0 only when it goes live")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1, help="seconds to follow before giving up (the rollout goes on)")
]
DEFAULT_TIMEOUT = 3600.0  # an image build plus a linear shift with bake times fits in an hour


def valid_api(name: str) -> str:
    """``name`` unchanged when it is a valid API name; axon's one naming rule, checked before any AWS call."""
    if not names.is_valid_api_name(name):
        raise InvalidInputError(f"invalid API name {name!r}: use 1-40 of a-z, 0-9 and '-'")
    return name
