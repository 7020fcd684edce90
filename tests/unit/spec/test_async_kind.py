"""``kind: async`` in axon.yaml: defaults, bounds, and what axon refuses with its own code (docs/async.md)."""

from __future__ import annotations

import json

import pytest

from axon.spec import ApiSpec, SpecError, load_spec_text
from axon.spec.errors import AsyncUnsupportedError


def test_kind_defaults_to_realtime() -> None:
    spec = load_spec_text(None)
    assert spec.kind == "realtime"
    assert spec.async_.max_concurrent_invocations_per_instance is None


def test_async_concurrency_defaults_to_max_concurrency_and_is_bounded() -> None:
    assert load_spec_text("kind: async\nserving: {max_concurrency: 8}").max_concurrent_invocations_per_instance == 8
    assert (
        load_spec_text("kind: async\nserving: {max_concurrency: 1024}").max_concurrent_invocations_per_instance == 1000
    )
    explicit = load_spec_text("kind: async\nasync: {max_concurrent_invocations_per_instance: 3}")
    assert explicit.max_concurrent_invocations_per_instance == 3
    for bad in (0, 1001):
        with pytest.raises(SpecError, match=r"async\.max_concurrent_invocations_per_instance") as caught:
            load_spec_text(f"kind: async\nasync: {{max_concurrent_invocations_per_instance: {bad}}}")
        assert caught.value.code == "spec.invalid"


def test_unknown_kind_and_async_section_on_realtime_are_refused() -> None:
    with pytest.raises(SpecError, match="kind"):
        load_spec_text("kind: batch")
    with pytest.raises(SpecError, match="kind: async only"):
        load_spec_text("async: {max_concurrent_invocations_per_instance: 2}")
    with pytest.raises(SpecError, match=r"async\.queue"):
        load_spec_text("kind: async\nasync: {queue: 3}")


def test_min_replicas_zero_is_accepted_for_both_kinds() -> None:
    assert load_spec_text("kind: async\nautoscaling: {min_replicas: 0}").autoscaling.min_replicas == 0
    assert load_spec_text("autoscaling: {min_replicas: 0}").autoscaling.min_replicas == 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kind: async\nsmoke_test: {payload: {x: 1}}", "smoke_test.payload"),
        ("kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge}\nsmoke_test: {payload: {}}", "one queue"),
        (
            "kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge}\n"
            "async: {include_response_in_notification: true}",
            "not supported on compute.platform: ecs",
        ),
    ],
)
def test_what_async_apis_cannot_do_yet_has_its_own_code(text: str, match: str) -> None:
    with pytest.raises(AsyncUnsupportedError, match=match) as caught:
        load_spec_text(text)
    assert caught.value.code == "spec.async_unsupported"


def test_async_runs_on_both_platforms() -> None:
    spec = load_spec_text("kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge}")
    assert (spec.kind, spec.compute.platform) == ("async", "ecs")


def test_the_registrys_json_dump_reads_back_for_both_kinds() -> None:
    """The registry stores ``model_dump(mode="json")`` (every field set, ``async_`` by name) and reads it back."""
    for text in ("", "kind: async\nasync: {max_concurrent_invocations_per_instance: 4}"):
        spec = load_spec_text(text)
        assert ApiSpec.model_validate(json.loads(json.dumps(spec.model_dump(mode="json")))) == spec
