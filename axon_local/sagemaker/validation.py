"""Request validation from botocore's own SageMaker service model, so what AWS refuses is refused here.

botocore's ``ParamValidator`` checks unknown members, required members, types and minimums (what a client checks);
the service also enforces maximums, enums and patterns, which :func:`_constraint_errors` adds with AWS's wording
("Value '...' at 'endpointName' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator

from axon_local.sagemaker.errors import validation_error

_MAX_REPORTED = 10


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's Java regexes mostly compile in Python; the few that do not are left to AWS."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _constraint_errors(value: Any, shape: Shape, path: str, out: list[str]) -> None:
    meta = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value and value[key] is not None:
                sub = f"{path}.{_camel(key)}" if path else _camel(key)
                _constraint_errors(value[key], member, sub, out)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value at '{path}' failed to satisfy constraint: Member must have length less than or "
                f"equal to {meta['max']}"
            )
        for index, item in enumerate(value, start=1):
            _constraint_errors(item, shape.member, f"{path}.{index}.member", out)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            _constraint_errors(key, shape.key, f"{path}.{key}.key", out)
            _constraint_errors(item, shape.value, f"{path}.{key}.value", out)
    elif isinstance(shape, StringShape) and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have length less "
                f"than or equal to {meta['max']}"
            )
        if shape.enum and value not in shape.enum:
            out.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value "
                f"set: [{', '.join(shape.enum)}]"
            )
        pattern = _compiled(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.fullmatch(value):
            out.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {meta['pattern']}"
            )
    elif (
        shape.type_name in {"integer", "long", "float", "double"}
        and isinstance(value, int | float)
        and "max" in meta
        and value > meta["max"]
    ):
        out.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value less "
            f"than or equal to {meta['max']}"
        )


def validate_request(params: Any, shape: StructureShape) -> None:
    """Raise ``ValidationException`` with every problem found, as AWS lists them in one message."""
    if not isinstance(params, dict):
        raise validation_error("Request body must be a JSON object.")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise validation_error(report.generate_report())
    problems: list[str] = []
    _constraint_errors(params, shape, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation_error(f"{count} validation {noun} detected: " + "; ".join(problems[:_MAX_REPORTED]))
