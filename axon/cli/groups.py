"""The typer group class of ``axon`` and ``axon local``: typer's own, less one start-up cost.

typer coerces each parameter's value through a pydantic ``TypeAdapter`` that it builds on first use. A group's own
options (``--help``, and ``axon``'s ``--profile``, ``--region``, ``--endpoint-url``, ``--version``) are processed on
every invocation of a subcommand, with the value ``None`` when not given; typer turns ``None`` into ``None``
without the adapter, yet builds the adapter first, and building it imports pydantic (~0.1-0.2 s). So
``axon get --help`` would load pydantic for nothing. :class:`LightHelpGroup` gives the group's ``bool`` and ``str``
options typer's own pass-through coercion (which returns ``None``, bools and strings unchanged: the only values
these take from a command line or the environment), so nothing changes but the import. If a typer release renames
these internals, the tweak is skipped (options still work, pydantic is imported as before) and
``tests/unit/cli/test_import_time.py`` says so.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

try:
    from typer._coercion import PassThroughRuntimeParam
except ImportError:  # pragma: no cover - another typer release: keep typer's own coercion
    PassThroughRuntimeParam = None  # type: ignore[assignment, misc]


def light_coercion(option: Any) -> None:
    """Give a bool or str option typer's pass-through coercion, unless typer already built one (or lacks these)."""
    descriptor = getattr(option, "type_descriptor", None)
    if PassThroughRuntimeParam is None or descriptor is None or descriptor.annotation not in (bool, str):
        return
    if getattr(option, "_runtime_param", "absent") is None:
        option._runtime_param = PassThroughRuntimeParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )


class LightHelpGroup(TyperGroup):
    """typer's group, whose own options do not import pydantic (see the module's docstring)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        for param in self.get_params(ctx):
            light_coercion(param)
        return super().parse_args(ctx, args)
