"""Import the user's code from a model directory and adapt it to a ``Handler``; failures become one line."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from axon.spec import ApiSpec
from axon.spec.bundle_files import spec_of_bundle
from axon.spec.errors import SpecError
from axon_serving.errors import PredictorLoadError, StreamNotBatchableError
from axon_serving.predictor import CortexHandler, Handler, SageMakerHandler

_SAGEMAKER_FUNCTIONS = ("input_fn", "predict_fn", "output_fn")
T = TypeVar("T")


def read_spec(model_dir: Path) -> ApiSpec:
    """The unpacked bundle's spec by the control plane's own rule (``axon.yaml`` or ``axon.yml``, else implied)."""
    try:
        return spec_of_bundle(lambda name: (model_dir / name).read_bytes(), lambda name: (model_dir / name).exists())
    except SpecError as error:
        raise PredictorLoadError(f"axon.yaml: {error.message}") from None


def load_handler(model_dir: Path, spec: ApiSpec) -> Handler:
    """Import ``spec.predictor.path`` and build its handler; any failure is a ``PredictorLoadError``."""
    source = model_dir / spec.predictor.path
    if not source.is_file():
        raise PredictorLoadError(f"predictor file {spec.predictor.path!r} not found in {model_dir}")
    # The user's helper modules sit beside their predictor (SageMaker puts code/ on sys.path too).
    for folder in dict.fromkeys((str(source.parent), str(model_dir))):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    module = _call(lambda: _import(source), f"importing {spec.predictor.path}")
    if spec.predictor.type == "sagemaker":
        return _checked(_sagemaker_handler(module, model_dir, spec), spec)
    return _checked(_cortex_handler(module, model_dir, spec), spec)


def _checked(handler: Handler, spec: ApiSpec) -> Handler:
    """A predictor that yields is never batched: refused when the spec asks for batches (streaming.py)."""
    batch_size = spec.serving.max_batch_size
    if handler.stream is not None and batch_size > 1:
        raise StreamNotBatchableError(
            f"{StreamNotBatchableError.code}: the predictor yields (its answers are streamed) and streams are not "
            f"batched; set serving.max_batch_size to 1 (it is {batch_size})"
        )
    return handler


def _cortex_handler(module: ModuleType, model_dir: Path, spec: ApiSpec) -> Handler:
    cls = getattr(module, "Predictor", None)
    if not isinstance(cls, type):
        raise PredictorLoadError(f"{spec.predictor.path} defines no class Predictor")
    instance = _call(lambda: cls(dict(spec.predictor.config), str(model_dir)), "Predictor.__init__")
    if not callable(getattr(instance, "predict", None)):
        raise PredictorLoadError(f"{spec.predictor.path}: Predictor has no predict method")
    return CortexHandler(instance)


def _sagemaker_handler(module: ModuleType, model_dir: Path, spec: ApiSpec) -> Handler:
    model_fn = getattr(module, "model_fn", None)
    if not callable(model_fn):
        raise PredictorLoadError(f"{spec.predictor.path} defines no model_fn(model_dir)")
    model = _call(lambda: model_fn(str(model_dir)), "model_fn")
    functions = {name: getattr(module, name) for name in _SAGEMAKER_FUNCTIONS if callable(getattr(module, name, None))}
    return SageMakerHandler(model, functions)


def _import(source: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(f"axon_user_{source.stem}", source)
    assert module_spec is not None and module_spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # dataclasses and pickle look the module up by name
    module_spec.loader.exec_module(module)
    return module


def _call(step: Callable[[], T], what: str) -> T:
    """Run a user step, turning any exception into one line naming the step and the user's last frame."""
    try:
        return step()
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        raise PredictorLoadError(f"{what} failed: {type(error).__name__}: {error}{where}") from error
