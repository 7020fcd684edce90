"""The predictor checks, one tiny predictor per row: parsed with ``ast``, never imported."""

import textwrap

import pytest

from axon.bundle import BundleError
from axon.bundle.predictor import check_python_predictor, check_sagemaker_predictor

PYTHON_OK = {
    "plain": ("class Predictor:\n    def predict(self, p): ...", False),
    "async predict": ("class Predictor:\n    async def predict(self, p): ...", False),
    "with predict_batch": (
        "class Predictor:\n    def predict(self, p): ...\n    def predict_batch(self, ps): ...",
        True,
    ),
    "predict assigned": ("def f(self, p): ...\nclass Predictor:\n    predict = f", False),
    "inherited from a class in the file": (
        "class Base:\n    def predict(self, p): ...\nclass Predictor(Base): ...",
        False,
    ),
    "inside try": (
        "try:\n    import torch\nexcept ImportError:\n    pass\nelse:\n    class Predictor:\n        def predict(self, p): ...",
        False,
    ),
    "last definition wins": ("class Predictor: ...\nclass Predictor:\n    def predict(self, p): ...", False),
    "encoding cookie": ("# -*- coding: latin-1 -*-\nclass Predictor:\n    def predict(self, p): return '\xe9'", False),
}


@pytest.mark.parametrize(("source", "batch"), PYTHON_OK.values(), ids=PYTHON_OK.keys())
def test_python_predictors_that_pass(source: str, batch: bool) -> None:
    encoding = "latin-1" if "latin-1" in source else "utf-8"
    assert check_python_predictor(source.encode(encoding), "predictor.py").has_predict_batch is batch


PYTHON_BAD = {
    "syntax error": ("class Predictor:\n    def predict(self p): ...", "bundle.predictor_syntax", "line 2"),
    "null byte": ("class Predictor: ...\0", "bundle.predictor_syntax", "does not parse"),
    "bad utf-8": (b"x = '\xff'", "bundle.predictor_syntax", "does not parse"),
    "too deep": ("x = " + "-" * 200_000 + "1", "bundle.predictor_syntax", "too deeply nested"),
    "no class": ("def predict(p): ...", "bundle.predictor_class_missing", "missing"),
    "a function": ("def Predictor(): ...", "bundle.predictor_class_missing", "class Predictor"),
    "imported": ("from impl import Predictor", "bundle.predictor_class_missing", "imported or assigned"),
    "nested in a function": (
        "def f():\n    class Predictor:\n        def predict(self): ...",
        "bundle.predictor_class_missing",
        "missing",
    ),
    "no predict": (
        "class Predictor:\n    def __init__(self, c, d): ...",
        "bundle.predictor_class_missing",
        "no predict",
    ),
    "predict_batch only": (
        "class Predictor:\n    def predict_batch(self, ps): ...",
        "bundle.predictor_class_missing",
        "no predict",
    ),
    "predict from an import": (
        "from base import Base\nclass Predictor(Base): ...",
        "bundle.predictor_class_missing",
        "this file",
    ),
    "base cycle": ("class A(Predictor): ...\nclass Predictor(A): ...", "bundle.predictor_class_missing", "no predict"),
}


@pytest.mark.parametrize(("source", "code", "words"), PYTHON_BAD.values(), ids=PYTHON_BAD.keys())
def test_python_predictors_that_are_refused(source: str | bytes, code: str, words: str) -> None:
    data = source if isinstance(source, bytes) else source.encode()
    with pytest.raises(BundleError) as caught:
        check_python_predictor(data, "predictor.py")
    assert (caught.value.code, "\n" in caught.value.message) == (code, False)
    assert words in caught.value.message


def test_sagemaker_style_needs_a_module_level_model_fn() -> None:
    ok = textwrap.dedent("""
        import json
        def model_fn(model_dir):
            return object()
        def predict_fn(data, model):
            return model
    """)
    assert check_sagemaker_predictor(ok.encode(), "code/inference.py").has_predict_batch is False
    for bad in ("def predict_fn(data, model): ...", "from lib import model_fn", "class model_fn: ..."):
        with pytest.raises(BundleError) as caught:
            check_sagemaker_predictor(bad.encode(), "code/inference.py")
        assert caught.value.code == "bundle.model_fn_missing"
    with pytest.raises(BundleError) as caught:
        check_sagemaker_predictor(b"def model_fn(:", "code/inference.py")
    assert caught.value.code == "bundle.predictor_syntax"
