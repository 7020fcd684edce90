"""Load failures: each is one line naming the step and, where it is user code, the user's file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from axon_serving.errors import PredictorLoadError
from axon_serving.loader import load_handler, read_spec
from axon_serving.predictor import CortexHandler, SageMakerHandler

from tests.unit.serving.conftest import make_model_dir


@pytest.mark.parametrize(
    ("predictor", "message"),
    [
        ("raises_in_init", "Predictor.__init__ failed: RuntimeError: weights file is corrupt (predictor.py:6)"),
        ("no_predictor_class", "predictor.py defines no class Predictor"),
        ("syntax_error.py.txt", "importing predictor.py failed: SyntaxError: invalid syntax"),
        ("sagemaker_no_model_fn", "code/inference.py defines no model_fn(model_dir)"),
    ],
)
def test_load_failures_say_why_in_one_line(tmp_path: Path, predictor: str, message: str) -> None:
    model_dir = make_model_dir(tmp_path, predictor)
    with pytest.raises(PredictorLoadError) as caught:
        load_handler(model_dir, read_spec(model_dir))
    assert message in caught.value.message and "\n" not in caught.value.message
    assert caught.value.code == "serving.load_failed"


def test_missing_predictor_file(tmp_path: Path) -> None:
    with pytest.raises(PredictorLoadError, match=r"predictor file 'predictor\.py' not found"):
        load_handler(tmp_path, read_spec(tmp_path))


def test_predictor_without_predict(tmp_path: Path) -> None:
    (tmp_path / "predictor.py").write_text(
        "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n"
    )
    with pytest.raises(PredictorLoadError, match="Predictor has no predict method"):
        load_handler(tmp_path, read_spec(tmp_path))


def test_invalid_axon_yaml_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "axon.yaml").write_text("serving: {max_concurrency: 0}\n")
    with pytest.raises(PredictorLoadError, match=r"axon.yaml: serving.max_concurrency"):
        read_spec(tmp_path)


def test_helper_modules_beside_the_predictor_are_importable(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("FACTOR = 7\n")
    (tmp_path / "predictor.py").write_text(
        "from dataclasses import dataclass\nimport helpers\n\n@dataclass\nclass Out:\n    y: int\n\n"
        "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n"
        "    def predict(self, payload):\n        return Out(helpers.FACTOR).y\n"
    )
    handler = load_handler(tmp_path, read_spec(tmp_path))
    assert isinstance(handler, CortexHandler) and handler.predict(None) == 7


def test_styles_pick_their_handler(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "sagemaker_defaults")
    assert isinstance(load_handler(model_dir, read_spec(model_dir)), SageMakerHandler)


def test_a_sagemaker_model_tar_gz_without_axon_yaml_is_served_sagemaker_style(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(
        "import os\n\ndef model_fn(model_dir):\n    return open(os.path.join(model_dir, 'model.txt')).read()\n"
        "\ndef predict_fn(data, model):\n    return {'model': model, 'data': data}\n"
    )
    (tmp_path / "model.txt").write_text("weights")
    spec = read_spec(tmp_path)
    assert (spec.predictor.type, spec.predictor.path) == ("sagemaker", "code/inference.py")
    handler = load_handler(tmp_path, spec)
    assert isinstance(handler, SageMakerHandler) and handler.model == "weights"


def test_a_predictor_py_keeps_axons_default_even_beside_code_inference_py(tmp_path: Path) -> None:
    make_model_dir(tmp_path, "echo")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    assert read_spec(tmp_path).predictor.type == "python"


def test_axon_yml_is_read_as_the_inspector_reads_it(tmp_path: Path) -> None:
    (tmp_path / "axon.yml").write_text("predictor: {path: src/serve.py}\nserving: {workers: 2}\n")
    spec = read_spec(tmp_path)
    assert (spec.predictor.path, spec.serving.workers) == ("src/serve.py", 2)
    (tmp_path / "axon.yaml").write_text("serving: {workers: 3}\n")
    with pytest.raises(PredictorLoadError, match=r"both axon\.yaml and axon\.yml"):
        read_spec(tmp_path)
