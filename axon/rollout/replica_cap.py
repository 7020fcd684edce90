"""The platform-wide replica cap (``AXON_MAX_TOTAL_REPLICAS``) at validation: a deploy may not push past it.

The autoscaler keeps its own scale-outs within the cap (``axon.autoscaler.tick``), but a deploy starts
replicas without it: an API's first version, or one that raises ``min_replicas``. So validation, before
anything is built or started, adds the replicas the new version will start with to those every other live API
runs now. A deploy that does not grow its API's count is never refused, so a fix can always ship even when
the platform is over the cap (after the cap was lowered, say).

Not covered: two first deploys validated at the same moment each see the other's API as not yet live.
"""

from __future__ import annotations

from collections.abc import Callable

from axon.autoscaler.live import ApiLister, live_apis
from axon.errors import AxonError
from axon.platforms.base import Platform
from axon.spec import ApiSpec


class ReplicaCapError(AxonError):
    """Deploying this version would run more replicas than the platform-wide cap allows."""

    code = "rollout.replica_cap"


def starting_replicas(spec: ApiSpec, current: int) -> int:
    """Replicas the new version starts with: the live count (blue-green keeps it), else ``init_replicas``,
    within the spec's bounds; as both platforms size a new variant or service."""
    autoscaling = spec.autoscaling
    return min(max(current or spec.init_replicas, autoscaling.min_replicas, 1), autoscaling.max_replicas)


def check_replica_cap(
    api: str, spec: ApiSpec, *, registry: ApiLister, platform_for: Callable[[str], Platform], cap: int
) -> None:
    """Refuse (``rollout.replica_cap``) a deploy of ``api`` that would take the platform past ``cap`` replicas."""
    counts: dict[str, int] = {}
    for live in live_apis(registry):
        capacity = platform_for(live.platform).capacity(live.api)
        counts[live.api] = capacity.desired if capacity is not None else 0
    current = counts.pop(api, 0)
    planned = starting_replicas(spec, current)
    others = sum(counts.values())
    if planned > current and others + planned > cap:
        raise ReplicaCapError(
            f"deploying {api} starts {planned} replicas; with the {others} replicas other APIs run, that is over the "
            f"platform-wide cap of {cap} (AXON_MAX_TOTAL_REPLICAS): lower autoscaling.min_replicas or raise the cap"
        )
