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

from enum import Enum
from typing import Any

from typer import BadParameter
from typer.core import TyperGroup

try:
    from typer._coercion import PassThroughRuntimeParam, RuntimeParam
except ImportError:  # pragma: no cover - another typer release: keep typer's own coercion
    PassThroughRuntimeParam = RuntimeParam = None  # type: ignore[assignment, misc]


def _numbers_and_choices() -> type | None:
    """typer's runtime coercion for enum choices and numbers, without pydantic (None: typer lacks its internals)."""
    if RuntimeParam is None:  # pragma: no cover - another typer release
        return None

    class Light(RuntimeParam):
        """An enum value from its string, or an int/float checked against the option's min and max, with the
        messages typer's own adapters give."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                number = value
            elif issubclass(kind, Enum):
                try:
                    return kind(value)
                except ValueError:
                    allowed = ", ".join(repr(member.value) for member in kind)
                    message = f"Value error, {value!r} is not one of {allowed}."
                    raise BadParameter(message, ctx=ctx, param=param) from None
            else:
                try:
                    number = kind(value)
                except (TypeError, ValueError):
                    raise BadParameter(
                        f"Input should be a valid {'integer' if kind is int else 'number'}, unable to parse string "
                        f"as {'an integer' if kind is int else 'a number'}",
                        ctx=ctx,
                        param=param,
                    ) from None
            if isinstance(number, Enum):
                return number
            info = self.parameter_info
            if info.min is not None and number < info.min:
                raise BadParameter(f"Input should be greater than or equal to {info.min}", ctx=ctx, param=param)
            if info.max is not None and number > info.max:
                raise BadParameter(f"Input should be less than or equal to {info.max}", ctx=ctx, param=param)
            return number

    return Light


_LIGHT = _numbers_and_choices()


def light_coercion(option: Any) -> None:
    """Give a bool, str, enum, int or float option a coercion that needs no pydantic, unless typer already built
    one (or lacks these internals). Anything else (paths, lists, files, clamped ranges) keeps typer's own."""
    descriptor = getattr(option, "type_descriptor", None)
    if PassThroughRuntimeParam is None or _LIGHT is None or descriptor is None:
        return
    if getattr(option, "_runtime_param", "absent") is not None:
        return
    kind, info = descriptor.annotation, descriptor.parameter_info
    if kind in (bool, str):
        option._runtime_param = PassThroughRuntimeParam(parameter_info=info, annotation=kind)
    elif (isinstance(kind, type) and issubclass(kind, Enum)) or (kind in (int, float) and not info.clamp):
        option._runtime_param = _LIGHT(parameter_info=info, annotation=kind)


class LightHelpGroup(TyperGroup):
    """typer's group, whose own options and its commands' do not import pydantic (see the module's docstring)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        for param in self.get_params(ctx):
            light_coercion(param)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            for param in command.get_params(ctx):  # its own --help flag included
                light_coercion(param)
        return name, command, rest
