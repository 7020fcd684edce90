"""Every example bundle passes `axon validate` and is what its README says: style, GPU, requirements.

`axon validate` runs the workflow's own inspector offline and never runs user code, so bundles whose model files
are made by a script (train.py, download.py) validate without them, as they do in the Validate step.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from axon.bundle.predictor import check_python_predictor
from axon.cli.app import app
from axon.rollout.prepare import flavour_of
from axon.spec import load_spec_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLE_MARKERS = ("axon.yaml", "axon.yml", "predictor.py", "code/inference.py")

# What each example is: (style, compute.gpu, image flavour, requirements as `axon validate` reports them).
EXPECTED = {
    "iris-numpy": ("python", 0, "cpu", []),
    "async-echo": ("python", 0, "cpu", []),
    "async-echo-ecs": ("python", 0, "gpu", []),  # ECS runs the GPU image on its GPU hosts
    "sklearn-iris": ("python", 0, "cpu", ["scikit-learn>=1.4"]),
    "sagemaker-style": ("sagemaker", 0, "cpu", []),
    "pytorch-gpu": ("python", 1, "gpu", ["torch==2.8.0"]),
    "huggingface": ("python", 0, "cpu", ["torch==2.8.0", "transformers==4.57.6"]),
}


def bundles() -> list[Path]:
    return sorted(d for d in EXAMPLES.iterdir() if d.is_dir() and any((d / m).exists() for m in BUNDLE_MARKERS))


def validate(bundle: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["validate", str(bundle), "-o", "json"])
    assert result.exit_code == 0, result.output
    view: dict[str, object] = json.loads(result.stdout)
    return view


def test_every_example_bundle_is_listed_here() -> None:
    assert [b.name for b in bundles()] == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_validates_as_described(name: str) -> None:
    style, gpu, flavour, requirements = EXPECTED[name]
    view = validate(EXAMPLES / name)
    assert (view["style"], view["gpu"], view["requirements"]) == (style, gpu, requirements)
    spec_file = EXAMPLES / name / "axon.yaml"
    spec = load_spec_text(spec_file.read_bytes() if spec_file.exists() else None)
    assert view["instance_type"] == spec.compute.instance_type
    assert flavour_of(spec) == flavour


@pytest.mark.parametrize("name", [n for n, (style, *_) in sorted(EXPECTED.items()) if style == "python"])
def test_examples_that_batch_have_predict_batch(name: str) -> None:
    bundle = EXAMPLES / name
    spec = load_spec_text((bundle / "axon.yaml").read_bytes())
    info = check_python_predictor((bundle / spec.predictor.path).read_bytes(), spec.predictor.path)
    if spec.serving.max_batch_size > 1:
        assert info.has_predict_batch


def test_the_gpu_example_batches_on_a_gpu_instance() -> None:
    spec = load_spec_text((EXAMPLES / "pytorch-gpu" / "axon.yaml").read_bytes())
    assert spec.compute.gpu == 1
    assert spec.compute.instance_type.startswith(("ml.g", "ml.p"))
    assert spec.serving.max_batch_size > 1


def test_the_async_example_is_an_async_api_that_may_scale_to_zero() -> None:
    spec = load_spec_text((EXAMPLES / "async-echo" / "axon.yaml").read_bytes())
    assert (spec.kind, spec.autoscaling.min_replicas, spec.max_concurrent_invocations_per_instance) == ("async", 0, 2)
