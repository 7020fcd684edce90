"""The record's spec is parsed once, when the registry reads it; its digest is what it was (issue 11)."""

from __future__ import annotations

from axon.registry import InMemoryRegistry, Upload
from axon.rollout.prepare import spec_digest
from axon.rollout.release import spec_of, version_ref
from axon.spec import ApiSpec, load_spec_text

# A spec with every section set; the registry tests pin its stored form too.
FULL_SPEC = """
name: iris
compute: {instance_type: ml.g5.xlarge, gpu: 1}
serving: {max_concurrency: 4, request_timeout_seconds: 12.5}
autoscaling: {min_replicas: 2, max_replicas: 8}
rollout: {strategy: canary, canary_percent: 20, bake_seconds: 30}
smoke_test: {payload: {"inputs": [[5.1, 3.5, 1.4, 0.2]], "b": "é"}}
predictor: {config: {"k": 1, "z": [1, 2]}}
"""


def test_spec_digests_are_the_ones_computed_before_the_spec_was_typed() -> None:
    """Pinned from ``sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True))[:16]`` as validation
    computed it when the record held a dict: a new spec field with a default changes them, nothing else may."""
    assert spec_digest(ApiSpec()) == "2217a7cf20fe3ce1"
    assert spec_digest(load_spec_text(FULL_SPEC)) == "d72e2ebf9581e6aa"


def _registry_with_version() -> InMemoryRegistry:
    registry = InMemoryRegistry()
    registry.register_upload(Upload(api="iris", bucket="axon-models", key="apis/iris/b.tar.gz", version_id="A"))
    return registry


def test_before_validation_the_spec_is_the_default_one() -> None:
    record = _registry_with_version().get_version("iris", 1)
    assert record.spec is None
    assert spec_of(record) == ApiSpec() == ApiSpec.model_validate({})


def test_the_read_spec_is_used_as_is_never_parsed_again() -> None:
    registry = _registry_with_version()
    spec = load_spec_text(FULL_SPEC)
    registry.record_validation("iris", 1, spec=spec, spec_digest=spec_digest(spec), image_key="k", model_data_uri="m")
    record = registry.get_version("iris", 1)
    assert isinstance(record.spec, ApiSpec) and record.spec == spec
    assert record.spec_digest == "d72e2ebf9581e6aa"
    assert spec_of(record) is record.spec
    assert version_ref(record).spec is record.spec
