"""The predictor checked with ``ast`` only: the control plane never imports or runs user code.

What can be proven from the source alone is required: ``class Predictor`` defined in the predictor file,
with ``predict`` defined in it or in a base class defined in the same file (sync or async; a ``predict =``
assignment counts). ``predict_batch`` is optional and only enables server-side batching, so a class with
``predict_batch`` alone is refused. A ``Predictor`` imported from another module, or a ``predict`` inherited
from one, cannot be checked without executing code, so it is refused with a message saying how to fix it.
SageMaker style needs a module-level ``def model_fn``. Definitions inside module-level ``if``/``try``/
``with`` blocks count; the last one wins, as at import time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from axon.bundle.errors import ModelFnMissingError, PredictorClassMissingError, PredictorSyntaxError, show

MAX_CLASS_DEPTH = 64
"""Levels of base classes (defined in the predictor file) below ``class Predictor`` that are followed."""


@dataclass(frozen=True)
class PredictorInfo:
    has_predict_batch: bool


def _parse(source: bytes, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as error:
        where = f" (line {error.lineno})" if error.lineno else ""
        raise PredictorSyntaxError(f"{show(path)} does not parse: {error.msg}{where}") from None
    except (MemoryError, RecursionError):
        # CPython's parser reports a blown stack on absurdly nested code as MemoryError (3.11).
        raise PredictorSyntaxError(f"{show(path)} is too deeply nested to parse") from None


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking into ``if``/``try``/``with`` blocks as import would run them."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _statements(statement.body)
            yield from _statements(statement.orelse)
        elif isinstance(statement, ast.Try | ast.TryStar):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _statements(block)
            for handler in statement.handlers:
                yield from _statements(handler.body)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            yield from _statements(statement.body)


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and statement.value and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    return []


def _bindings(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The statement that last binds each name in ``body``."""
    bindings: dict[str, ast.stmt] = {}
    for statement in _statements(body):
        for name in _bound_names(statement):
            bindings[name] = statement
    return bindings


def _methods(cls: ast.ClassDef, module: dict[str, ast.stmt], path: str) -> set[str]:
    """Names bound in ``cls`` and in its bases that are classes of the same module, walked without recursion.

    A class chain deeper than ``MAX_CLASS_DEPTH`` is refused: no real predictor has one, and a hostile
    file of 30,000 ``class Cn(Cn-1)`` lines (well under the size limit) must end in a code, not a crash.
    """
    names: set[str] = set()
    seen = {cls.name}
    level = [cls]
    for depth in range(MAX_CLASS_DEPTH + 1):
        below: list[ast.ClassDef] = []
        for klass in level:
            names |= set(_bindings(klass.body))
            for base in klass.bases:
                parent = module.get(base.id) if isinstance(base, ast.Name) and base.id not in seen else None
                if isinstance(parent, ast.ClassDef):
                    seen.add(parent.name)
                    below.append(parent)
        if not below:
            return names
        if depth == MAX_CLASS_DEPTH:
            break
        level = below
    raise PredictorSyntaxError(
        f"class Predictor in {show(path)} has base classes nested more than {MAX_CLASS_DEPTH} levels deep"
    )


def check_python_predictor(source: bytes, path: str) -> PredictorInfo:
    """Cortex style: ``class Predictor`` with ``predict``; raises on syntax errors or a missing class/method."""
    module = _bindings(_parse(source, path).body)
    statement = module.get("Predictor")
    if not isinstance(statement, ast.ClassDef):
        how = "imported or assigned" if statement is not None else "missing"
        raise PredictorClassMissingError(f"{show(path)} must define class Predictor in the file ({how})")
    methods = _methods(statement, module, path)
    if "predict" not in methods:
        raise PredictorClassMissingError(
            f"class Predictor in {show(path)} has no predict method (inherited ones must come from this file)"
        )
    return PredictorInfo(has_predict_batch="predict_batch" in methods)


def check_sagemaker_predictor(source: bytes, path: str) -> PredictorInfo:
    """SageMaker style: a module-level ``def model_fn(model_dir)``; input/predict/output_fn are optional."""
    statement = _bindings(_parse(source, path).body).get("model_fn")
    if not isinstance(statement, ast.FunctionDef):
        raise ModelFnMissingError(f"{show(path)} must define a function model_fn(model_dir) at module level")
    return PredictorInfo(has_predict_batch=False)
