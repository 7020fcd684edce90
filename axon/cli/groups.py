"""The typer group class of ``axon`` and ``axon local``: typer's own, less one start-up cost.

typer coerces each parameter's value through a pydantic ``TypeAdapter`` that it builds on first use. A group's
``--help`` flag is processed on every invocation of a subcommand, with the value ``None`` when it was not given;
typer turns ``None`` into ``None`` without the adapter, yet builds the adapter first, and building it imports
pydantic (~0.1-0.2 s). So ``axon get --help`` would load pydantic for nothing. :class:`LightHelpGroup` gives the
group's help flag typer's own pass-through coercion (which returns ``None`` and bools unchanged, the only values a
flag takes), so nothing changes but the import. If a typer release renames these internals, the tweak is skipped
(help still works, pydantic is imported as before) and ``tests/unit/cli/test_import_time.py`` says so.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

try:
    from typer._coercion import PassThroughRuntimeParam
except ImportError:  # pragma: no cover - another typer release: keep typer's own coercion
    PassThroughRuntimeParam = None  # type: ignore[assignment, misc]


def light_help_flag(option: Any) -> None:
    """Give a ``--help`` flag typer's pass-through coercion, unless typer already built one (or lacks these)."""
    descriptor = getattr(option, "type_descriptor", None)
    if PassThroughRuntimeParam is None or descriptor is None or descriptor.annotation is not bool:
        return
    if getattr(option, "_runtime_param", "absent") is None:
        option._runtime_param = PassThroughRuntimeParam(parameter_info=descriptor.parameter_info, annotation=bool)


class LightHelpGroup(TyperGroup):
    """typer's group, whose ``--help`` flag does not import pydantic (see the module's docstring)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            light_help_flag(option)
        return option
