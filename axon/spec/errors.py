"""Spec errors: each carries the dotted field path and the reason, and a stable code."""

from __future__ import annotations

from axon.errors import AxonError


class SpecError(AxonError):
    """``axon.yaml`` is not valid YAML or does not satisfy the spec."""

    code = "spec.invalid"


class SpecYamlError(SpecError):
    code = "spec.invalid_yaml"


class SpecNameMismatchError(SpecError):
    code = "spec.name_mismatch"


class SpecRolloutTooLongError(SpecError):
    """The planned rollout cannot finish inside the rollout workflow's execution timeout."""

    code = "spec.rollout_too_long"


class InstanceTypeNotAllowedError(SpecError):
    """``compute.instance_type`` is not in this deployment's allowlist for its platform."""

    code = "spec.instance_type_not_allowed"


class ReplicasOverCapError(SpecError):
    """The spec asks for more replicas than the platform-wide cap (``AXON_MAX_TOTAL_REPLICAS``) allows."""

    code = "spec.replicas_over_cap"


class AsyncUnsupportedError(SpecError):
    """``kind: async`` combined with something axon cannot yet do for async APIs (ECS, a smoke test)."""

    code = "spec.async_unsupported"
