"""Arguments and options shared by several verbs, so each is spelled and documented once.

Light on purpose: ``axon.cli.app`` imports it to declare every verb's signature, so nothing here may pull in rich,
boto3, pydantic or the registry (``tests/unit/cli/test_import_time.py`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer

from axon import names
from axon.cli.errors import InvalidInputError

TARGET_META = "axon.target"  # where the root command's callback leaves the global options (click's ctx.meta)


@dataclass(frozen=True)
class Target:
    """Where one invocation talks to, from the global options: ``None`` leaves each to boto3's resolution."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # the local stack; None: AWS (wherever botocore's own settings point)


class Output(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts")]
# Help texts are rich markup: a literal "[" is escaped, or rich takes "[a-z0-9-]" for a style tag and drops it.
ApiArgument = Annotated[str, typer.Argument(help=r"API name, \[a-z0-9-]{1,40}", show_default=False)]
WaitOption = Annotated[
    bool, typer.Option("--wait/--no-wait", help="follow the rollout until it ends; exit 0 only when it goes live")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1, help="seconds to follow before giving up (the rollout goes on)")
]
JSON = "application/json"  # `axon predict`'s default --content-type
DEFAULT_TIMEOUT = 3600.0  # an image build plus a linear shift with bake times fits in an hour


def valid_api(name: str) -> str:
    """``name`` unchanged when it is a valid API name; axon's one naming rule, checked before any AWS call."""
    if not names.is_valid_api_name(name):
        raise InvalidInputError(f"invalid API name {name!r}: use 1-40 of a-z, 0-9 and '-'")
    return name
