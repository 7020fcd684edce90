"""Arguments and options shared by several verbs, so each is spelled and documented once.

Light on purpose: ``axon.cli.app`` imports it to declare every verb's signature, so nothing here may pull in rich,
boto3, pydantic or the registry (``tests/unit/cli/test_import_time.py`` checks).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from axon import names
from axon.cli.errors import InvalidInputError


class Output(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts")]
ApiArgument = Annotated[str, typer.Argument(help="API name, [a-z0-9-]{1,40}", show_default=False)]
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
