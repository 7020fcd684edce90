import pytest

from axon.rollout.image import flavour_of, image_key, image_key_of, normalize_requirements
from axon.rollout.plan import total_bake_seconds, traffic_steps
from axon.spec import RolloutSpec, load_spec_text


@pytest.mark.parametrize(
    ("rollout", "steps"),
    [
        (RolloutSpec(), [100]),
        (RolloutSpec(strategy="canary", canary_percent=10), [10, 100]),
        (RolloutSpec(strategy="canary", canary_percent=99), [99, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=25), [25, 50, 75, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=30), [30, 60, 90, 100]),
        (RolloutSpec(strategy="linear", linear_step_percent=50), [50, 100]),
    ],
)
def test_traffic_steps(rollout: RolloutSpec, steps: list[int]) -> None:
    assert traffic_steps(rollout) == steps


def test_bake_after_every_step() -> None:
    assert total_bake_seconds(RolloutSpec(strategy="linear", linear_step_percent=25, bake_seconds=60)) == 240


def test_image_key_ignores_comments_and_blank_lines_but_not_order() -> None:
    base = image_key("cpu", "numpy==2.0\nscipy")
    assert image_key("cpu", "# deps\nnumpy==2.0   # pinned\n\nscipy\n") == base
    assert image_key("cpu", "scipy\nnumpy==2.0") != base
    assert image_key("gpu", "numpy==2.0\nscipy") != base
    assert image_key("cpu", "numpy==2.0\nscipy", runtime_version="9.9.9") != base
    assert len(base) == 16 and int(base, 16) >= 0
    assert normalize_requirements("  a  \n#x\n b # c") == "a\nb"


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
