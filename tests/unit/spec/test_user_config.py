import json
from pathlib import Path

import pytest

from axon.spec import ApiSpec, SpecError, SpecYamlError, load_spec_text
from axon.spec.schema import render_schema

ROOT = Path(__file__).resolve().parents[3]


def test_empty_file_gives_the_briefs_defaults() -> None:
    spec = load_spec_text(None)
    assert spec == load_spec_text("") == ApiSpec()
    assert spec.predictor.path == "predictor.py" and spec.predictor.config == {}
    assert (spec.compute.platform, spec.compute.instance_type, spec.compute.gpu) == ("sagemaker", "ml.m5.large", 0)
    assert (spec.serving.max_concurrency, spec.serving.max_queue_length) == (1, 100)
    assert (spec.serving.max_batch_size, spec.serving.batch_timeout_ms) == (1, 0)
    auto = spec.autoscaling
    assert (auto.min_replicas, auto.max_replicas, auto.window_seconds) == (1, 10, 60)
    assert (auto.downscale_stabilization_seconds, auto.upscale_stabilization_seconds) == (300, 60)
    assert (auto.max_downscale_factor, auto.max_upscale_factor) == (0.75, 1.5)
    assert (auto.downscale_tolerance, auto.upscale_tolerance) == (0.05, 0.05)
    assert spec.rollout.strategy == "all_at_once" and spec.rollout.canary_percent == 10
    assert spec.rollout.linear_step_percent == 25 and spec.rollout.bake_seconds == 0
    assert spec.smoke_test.payload is None


def test_target_in_flight_defaults_to_max_concurrency_as_in_cortex() -> None:
    assert load_spec_text("serving: {max_concurrency: 4}").target_in_flight == 4.0
    assert load_spec_text("serving: {max_concurrency: 4}\nautoscaling: {target_in_flight: 2.5}").target_in_flight == 2.5


def test_init_replicas_defaults_to_min() -> None:
    assert load_spec_text("autoscaling: {min_replicas: 3}").init_replicas == 3


def test_sagemaker_style_moves_the_default_path() -> None:
    assert load_spec_text("predictor: {type: sagemaker}").predictor.path == "code/inference.py"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("autoscaling: {min_replicas: 30}", "autoscaling: Value error, min_replicas must not be greater"),
        ("autoscaling: {max_replicas: 0}", "autoscaling.max_replicas: Input should be greater than or equal to 1"),
        ("serving: {max_concurency: 2}", "serving.max_concurency: Extra inputs are not permitted"),
        ("compute: {instance_type: g5.xlarge}", "SageMaker instance types start with 'ml.'"),
        ("compute: {platform: ecs, instance_type: ml.g5.xlarge}", "ECS instance types are EC2 types"),
        ("rollout: {strategy: yolo}", "rollout.strategy: Input should be 'all_at_once', 'canary' or 'linear'"),
        ("name: Not_Valid", "name: String should match pattern"),
        ("predictor: {path: ../x.py}", "predictor.path must be relative"),
    ],
)
def test_errors_name_the_field_path_and_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text)
    assert caught.value.code == "spec.invalid"
    assert fragment in caught.value.message


@pytest.mark.parametrize("text", ["a: [", "- just\n- a list\n", "key: value\n  bad: indent"])
def test_yaml_errors_have_their_own_code(text: str) -> None:
    with pytest.raises(SpecYamlError) as caught:
        load_spec_text(text)
    assert caught.value.code == "spec.invalid_yaml"


def test_exported_json_schema_is_in_sync_with_the_model() -> None:
    exported = (ROOT / "docs" / "axon.schema.json").read_text()
    assert exported == render_schema(), "run `make schema` to regenerate docs/axon.schema.json"


def test_a_smoke_payload_with_yaml_dates_is_plain_json_data() -> None:
    """Regression: ``payload: {day: 2024-01-01}`` passed the spec and then failed json.dumps in the smoke test."""
    spec = load_spec_text("smoke_test: {payload: {day: 2024-01-01, at: 2024-01-01T10:00:00Z}}\n")
    assert json.loads(json.dumps(spec.smoke_test.payload)) == {"day": "2024-01-01", "at": "2024-01-01T10:00:00Z"}
