"""Which APIs the autoscaler scales: the registry's live APIs, with the spec of their live version."""

from __future__ import annotations

from axon.autoscaler.tick import LiveApi
from axon.registry import DynamoDBRegistry
from axon.spec import ApiSpec


def live_apis(registry: DynamoDBRegistry) -> list[LiveApi]:
    """Every non-deleted API with a live version; a running rollout (lease held) holds scale-in."""
    lives = []
    for api in registry.list_apis():
        if api.live_seq is None:
            continue
        version = registry.get_version(api.api, api.live_seq)
        spec = ApiSpec.model_validate(version.spec or {})
        lives.append(LiveApi(api.api, spec, spec.compute.platform, rollout_in_progress=api.lease_owner is not None))
    return lives
