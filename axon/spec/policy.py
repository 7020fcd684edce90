"""What this deployment admits beyond the spec's own rules: instance types per platform, and the replica cap.

The spec model (``user_config``) checks what is true everywhere; these checks depend on the operator's
settings (``axon.settings``), so they run at validation, where both are known, before anything is built.
Patterns are ``fnmatch`` globs, matched case-sensitively as AWS spells instance types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from axon.spec.errors import InstanceTypeNotAllowedError, ReplicasOverCapError
from axon.spec.user_config import ApiSpec

# Current CPU and NVIDIA GPU families the serving images run on. Left out on purpose: Inferentia/Trainium
# (need Neuron images) and the largest GPU families (p4d, p5: tens of dollars an hour per replica), which an
# operator opts into by setting the allowlist.
_FAMILIES = (
    "t3", "m5", "m5d", "m6i", "m7i", "c5", "c6i", "c7i", "r5", "r6i", "g4dn", "g5", "g6", "p3",
)  # fmt: skip
DEFAULT_INSTANCE_TYPES: Mapping[str, tuple[str, ...]] = {
    "sagemaker": ("ml.t2.*", *(f"ml.{family}.*" for family in _FAMILIES if family != "t3")),
    "ecs": tuple(f"{family}.*" for family in _FAMILIES),
}


def parse_patterns(text: str) -> tuple[str, ...]:
    """``"ml.m5.*, ml.g5.*"`` -> ``("ml.m5.*", "ml.g5.*")``: the settings' comma-separated form."""
    patterns = tuple(part.strip() for part in text.split(",") if part.strip())
    if not patterns:
        raise ValueError("an instance-type allowlist needs at least one pattern ('*' admits every type)")
    return patterns


@dataclass(frozen=True)
class DeployPolicy:
    """The operator's limits on any API's spec; ``axon.settings.Settings.deploy_policy`` builds it."""

    instance_types: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_INSTANCE_TYPES))
    """Allowed ``compute.instance_type`` patterns per ``compute.platform``."""
    max_total_replicas: int = 200
    """The platform-wide replica cap; no single API may ask for more."""


def _allowed(instance_type: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(instance_type, pattern) for pattern in patterns)


def check_policy(spec: ApiSpec, policy: DeployPolicy) -> None:
    """Refuse a spec this deployment does not admit, with a code saying which rule.

    Examples
    --------
    >>> from axon.spec import load_spec_text
    >>> check_policy(load_spec_text("compute: {instance_type: ml.g5.xlarge}"), DeployPolicy())  # admitted
    >>> check_policy(load_spec_text("compute: {instance_type: ml.x1.32xlarge}"), DeployPolicy())  # doctest: +SKIP
    InstanceTypeNotAllowedError: spec.instance_type_not_allowed: compute.instance_type 'ml.x1.32xlarge' is ...
    """
    compute = spec.compute
    patterns = policy.instance_types.get(compute.platform, ())
    if not _allowed(compute.instance_type, patterns):
        shown = ", ".join(patterns) or "none"
        raise InstanceTypeNotAllowedError(
            f"compute.instance_type {compute.instance_type!r} is not allowed on {compute.platform} by this "
            f"deployment (allowed: {shown}; the operator sets AXON_{compute.platform.upper()}_INSTANCE_TYPES)"
        )
    autoscaling = spec.autoscaling
    if autoscaling.max_replicas > policy.max_total_replicas:
        raise ReplicasOverCapError(
            f"autoscaling.max_replicas is {autoscaling.max_replicas}, over the platform-wide cap of "
            f"{policy.max_total_replicas} replicas (AXON_MAX_TOTAL_REPLICAS)"
        )
