import io

import pytest

from axon.bundle import inspect_bundle
from axon.rollout.prepare import flavour_of, image_key, image_key_of
from axon.spec import load_spec_text
from tests.unit.bundle.builder import valid


def test_image_key_hashes_the_canonical_requirements_in_order() -> None:
    base = image_key("cpu", "numpy==2.0\nscipy\n")
    assert image_key("cpu", "numpy==2.0\nscipy") == base
    assert image_key("cpu", "scipy\nnumpy==2.0\n") != base
    assert image_key("gpu", "numpy==2.0\nscipy\n") != base
    assert image_key("cpu", "numpy==2.0\nscipy\n", runtime_version="9.9.9") != base
    assert len(base) == 16 and int(base, 16) >= 0


def test_image_keys_of_inspected_bundles_are_unchanged() -> None:
    """Keys recorded before requirements were normalized only once (by inspection): existing images are reused."""
    text = inspect_bundle(
        io.BytesIO(valid().file("requirements.txt", "numpy >= 1.26  # arrays\n\nscikit-learn==1.4\n").build()),
        api="iris",
    ).requirements_text
    assert image_key("cpu", text, runtime_version="1.0.0", recipe="2") == "5a5d2288f2330cfb"
    assert image_key("gpu", "", "1.0.0", allow_source_builds=True, recipe="2") == "8e8b67c732a3ecbf"


def test_a_source_built_image_is_never_reused_for_a_binary_only_bundle() -> None:
    binary = image_key_of(load_spec_text(""), "numpy==2.0")
    source = image_key_of(load_spec_text("build: {allow_source_builds: true}"), "numpy==2.0")
    assert binary == image_key("cpu", "numpy==2.0") and source == image_key(
        "cpu", "numpy==2.0", allow_source_builds=True
    )
    assert source != binary


def test_a_new_build_recipe_never_reuses_the_images_of_the_old_one() -> None:
    assert image_key("cpu", "numpy==2.0", recipe="1") != image_key("cpu", "numpy==2.0")


@pytest.mark.parametrize(
    ("yaml", "flavour"),
    [
        ("", "cpu"),
        ("compute: {instance_type: ml.g5.xlarge}", "gpu"),
        ("compute: {instance_type: ml.p4d.24xlarge}", "gpu"),
        ("compute: {instance_type: ml.c5.large, gpu: 1}", "gpu"),
        ("compute: {platform: ecs, instance_type: g6.xlarge}", "gpu"),
        ("compute: {platform: ecs, instance_type: m5.large}", "cpu"),
    ],
)
def test_flavour(yaml: str, flavour: str) -> None:
    assert flavour_of(load_spec_text(yaml)) == flavour
