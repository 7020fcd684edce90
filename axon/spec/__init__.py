"""The ``axon.yaml`` spec: user config model, derived identities, errors."""

from axon.spec.errors import SpecError, SpecNameMismatchError, SpecRolloutTooLongError, SpecYamlError
from axon.spec.user_config import (
    ApiSpec,
    AsyncSpec,
    AutoscalingSpec,
    ComputeSpec,
    PredictorSpec,
    RolloutSpec,
    ServingSpec,
    SmokeTestSpec,
    load_spec_text,
    parse_spec,
)

__all__ = [
    "ApiSpec",
    "AsyncSpec",
    "AutoscalingSpec",
    "ComputeSpec",
    "PredictorSpec",
    "RolloutSpec",
    "ServingSpec",
    "SmokeTestSpec",
    "SpecError",
    "SpecNameMismatchError",
    "SpecRolloutTooLongError",
    "SpecYamlError",
    "load_spec_text",
    "parse_spec",
]
