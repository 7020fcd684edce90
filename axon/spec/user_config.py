"""The user's ``axon.yaml``: every field optional, defaults as in the brief (and Cortex for autoscaling)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticSerializationError, to_json

from axon.names import API_NAME_PATTERN
from axon.spec.errors import AsyncUnsupportedError, SpecError, SpecYamlError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PredictorSpec(_Section):
    """Where the user's code is and what it is given."""

    type: Literal["python", "sagemaker"] = Field(
        "python",
        description="`python`: class Predictor in `path`; `sagemaker`: `code/inference.py` with model_fn & co.",
    )
    path: str = Field("predictor.py", description="Predictor file, relative to the bundle root.")
    config: dict[str, Any] = Field(default_factory=dict, description="Passed to Predictor(config, model_dir).")

    @model_validator(mode="after")
    def _sagemaker_path(self) -> Self:
        if self.type == "sagemaker" and "path" not in self.model_fields_set:
            object.__setattr__(self, "path", "code/inference.py")
        if self.path.startswith("/") or ".." in self.path.split("/"):
            raise ValueError("predictor.path must be relative to the bundle root")
        return self


class ComputeSpec(_Section):
    platform: Literal["sagemaker", "ecs"] = "sagemaker"
    instance_type: str = Field("ml.m5.large", min_length=1)
    gpu: Annotated[int, Field(ge=0, le=16, description="GPUs per replica; > 0 selects the GPU image.")] = 0

    @model_validator(mode="after")
    def _instance_type_matches_platform(self) -> Self:
        if self.platform == "sagemaker" and not self.instance_type.startswith("ml."):
            raise ValueError("SageMaker instance types start with 'ml.' (e.g. ml.g5.xlarge)")
        if self.platform == "ecs" and self.instance_type.startswith("ml."):
            raise ValueError("ECS instance types are EC2 types without 'ml.' (e.g. g5.xlarge)")
        return self


class ServingSpec(_Section):
    max_concurrency: Annotated[int, Field(ge=1, le=1024, description="Requests in the predictor at once.")] = 1
    max_queue_length: Annotated[int, Field(ge=0, le=100_000, description="Queued beyond that; then 503.")] = 100
    max_batch_size: Annotated[int, Field(ge=1, le=4096, description="> 1 with predict_batch: batching.")] = 1
    batch_timeout_ms: Annotated[int, Field(ge=0, le=60_000, description="Longest wait to fill a batch.")] = 0
    workers: Annotated[int, Field(ge=1, le=64, description="Server processes per replica (CPU predictors).")] = 1
    request_timeout_seconds: Annotated[float, Field(gt=0, le=3600, description="Past it: 504.")] = 60.0
    max_request_bytes: Annotated[int, Field(ge=1, description="Larger bodies: 413.")] = 6 * 1024 * 1024


class AutoscalingSpec(_Section):
    """Cortex's autoscaling fields and defaults (docs/workloads/realtime/autoscaling.md)."""

    min_replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 10
    init_replicas: Annotated[int | None, Field(ge=0, le=1000, description="Default: min_replicas.")] = None
    target_in_flight: Annotated[
        float | None, Field(gt=0, description="In-flight per replica; default serving.max_concurrency.")
    ] = None
    window_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    downscale_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    upscale_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    max_downscale_factor: Annotated[float, Field(ge=0, lt=1)] = 0.75
    max_upscale_factor: Annotated[float, Field(gt=1)] = 1.5
    downscale_tolerance: Annotated[float, Field(ge=0, lt=1)] = 0.05
    upscale_tolerance: Annotated[float, Field(ge=0)] = 0.05

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not be greater than max_replicas")
        init = self.init_replicas
        if init is not None and not self.min_replicas <= init <= self.max_replicas:
            raise ValueError("init_replicas must lie between min_replicas and max_replicas")
        return self


class RolloutSpec(_Section):
    strategy: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    canary_percent: Annotated[int, Field(ge=1, le=99)] = 10
    linear_step_percent: Annotated[int, Field(ge=1, le=99)] = 25
    bake_seconds: Annotated[int, Field(ge=0, le=3600)] = 0

    @property
    def traffic_steps(self) -> list[int]:
        """Percent of traffic on the new version after each step; the last step is always 100.

        Platforms that shift traffic themselves (ECS listener weights, the local router) walk these steps;
        SageMaker gets the same intent as a ``DeploymentConfig`` (:mod:`axon.platforms.sagemaker.specs`).

        Examples
        --------
        >>> RolloutSpec(strategy="canary", canary_percent=10).traffic_steps
        [10, 100]
        >>> RolloutSpec(strategy="linear", linear_step_percent=30).traffic_steps
        [30, 60, 90, 100]
        """
        if self.strategy == "canary":
            return [self.canary_percent, 100]
        if self.strategy == "linear":
            step = self.linear_step_percent
            return [*range(step, 100, step), 100]
        return [100]

    @property
    def total_bake_seconds(self) -> int:
        """Waiting time a rollout spends baking: one bake after every step."""
        return self.bake_seconds * len(self.traffic_steps)


SMOKE_PAYLOAD_MAX_BYTES = 64 * 1024
"""Largest smoke payload (as JSON): it is stored with the version's record, and DynamoDB items stop at 400 KB."""


class SmokeTestSpec(_Section):
    payload: Any = Field(
        None,
        description=f"Sent to the new version before (or while) it takes traffic; at most {SMOKE_PAYLOAD_MAX_BYTES} "
        "bytes as JSON.",
    )
    content_type: str = "application/json"

    @field_validator("payload")
    @classmethod
    def _payload_size(cls, payload: Any) -> Any:
        try:
            size = len(to_json(payload))  # as the version's record stores it
        except PydanticSerializationError:
            raise ValueError("must be JSON data (binary payloads must be UTF-8)") from None
        if size > SMOKE_PAYLOAD_MAX_BYTES:
            raise ValueError(f"is {size} bytes as JSON; the limit is {SMOKE_PAYLOAD_MAX_BYTES} (64 KiB)")
        # YAML dates and times become the strings they would be sent as, so the smoke test encodes plain JSON.
        return payload if isinstance(payload, bytes) else json.loads(to_json(payload))


class ImageBuildSpec(_Section):
    """How the serving image is built: binary wheels only unless the bundle opts out (supply chain)."""

    allow_source_builds: bool = Field(
        False,
        description="Let pip build requirements from source distributions (runs their build scripts at image "
        "build time). Default: binary wheels only. Changes the image key.",
    )


MAX_ASYNC_CONCURRENCY = 1000
"""SageMaker's bound on ``ClientConfig.MaxConcurrentInvocationsPerInstance`` (botocore's model: 1-1000)."""


class AsyncSpec(_Section):
    """``kind: async`` only: how the queue feeds each replica (docs/async.md)."""

    max_concurrent_invocations_per_instance: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ASYNC_CONCURRENCY,
            description="Queued requests sent to one replica at once; default serving.max_concurrency.",
        ),
    ] = None
    include_response_in_notification: bool = Field(
        False,
        description="Put the model's answer (up to SNS's size limit) in the success notification too, not only in "
        "S3 (SageMaker's IncludeInferenceResponseIn).",
    )


class ApiSpec(_Section):
    """The whole ``axon.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[str | None, Field(pattern=API_NAME_PATTERN, description="Must equal apis/<api>/.")] = None
    kind: Literal["realtime", "async"] = Field(
        "realtime",
        description="`realtime`: an HTTPS endpoint answers each request; `async`: requests are queued from S3 "
        "(inputs/<api>/), answers land under results/<api>/ with an SNS notification (docs/async.md).",
    )
    async_: AsyncSpec = Field(default_factory=AsyncSpec, alias="async", description="Only with kind: async.")
    predictor: PredictorSpec = Field(default_factory=PredictorSpec)
    compute: ComputeSpec = Field(default_factory=ComputeSpec)
    serving: ServingSpec = Field(default_factory=ServingSpec)
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec)
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    smoke_test: SmokeTestSpec = Field(default_factory=SmokeTestSpec)
    build: ImageBuildSpec = Field(default_factory=ImageBuildSpec)

    @model_validator(mode="after")
    def _async_section_needs_async_kind(self) -> Self:
        # Compared with the defaults, not the fields set: a stored spec (the registry's JSON dump) sets them all.
        if self.kind != "async" and self.async_ != AsyncSpec():
            raise ValueError("the async section applies to kind: async only")
        return self

    @property
    def max_concurrent_invocations_per_instance(self) -> int:
        """``async.max_concurrent_invocations_per_instance``, else ``serving.max_concurrency`` (within 1-1000)."""
        explicit = self.async_.max_concurrent_invocations_per_instance
        return explicit if explicit is not None else min(self.serving.max_concurrency, MAX_ASYNC_CONCURRENCY)

    @property
    def target_in_flight(self) -> float:
        """Effective target: ``autoscaling.target_in_flight``, else ``serving.max_concurrency`` (Cortex)."""
        explicit = self.autoscaling.target_in_flight
        return float(explicit) if explicit is not None else float(self.serving.max_concurrency)

    @property
    def init_replicas(self) -> int:
        explicit = self.autoscaling.init_replicas
        return explicit if explicit is not None else max(self.autoscaling.min_replicas, 1)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "<root>"


def format_validation_error(error: ValidationError) -> str:
    """One line per problem: ``autoscaling.min_replicas: Input should be greater than or equal to 0``."""
    return "; ".join(f"{_field_path(e['loc'])}: {e['msg']}" for e in error.errors())


def check_kind(spec: ApiSpec) -> ApiSpec:
    """Refuse, with its own code, an async API that needs what axon does not build (docs/async.md).

    Both platforms run ``kind: async`` (SageMaker's asynchronous endpoints; on ECS, an SQS queue per API drained by
    ``axon-serve`` in worker mode). A smoke test is refused on both: a queued request cannot be aimed at the new
    version (InvokeEndpointAsync has no TargetVariant, and both ECS versions drain one queue), and the rollout
    cannot wait on a queued answer.
    """
    if spec.kind != "async":
        return spec
    if spec.smoke_test.payload is not None:
        raise AsyncUnsupportedError(
            "smoke_test.payload is not supported with kind: async: a queued request cannot be aimed at the new "
            "version (SageMaker's InvokeEndpointAsync has no TargetVariant; on ECS both versions drain one queue), "
            "and the rollout cannot wait on a queued answer; remove it (the rollback alarms still guard the rollout)"
        )
    if spec.compute.platform == "ecs" and spec.async_.include_response_in_notification:
        raise AsyncUnsupportedError(
            "async.include_response_in_notification is not supported on compute.platform: ecs yet: the ECS worker "
            "notifies without the answer; read it from S3 (axon result) or run the API on SageMaker"
        )
    return spec


def parse_spec(data: dict[str, Any] | None) -> ApiSpec:
    try:
        spec = ApiSpec.model_validate(data or {})
    except ValidationError as error:
        raise SpecError(format_validation_error(error)) from None
    return check_kind(spec)


def _has_alias(text: str | bytes) -> bool:
    """YAML aliases can nest into billions of nodes once serialized (the "billion laughs")."""
    try:
        return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return False  # safe_load reports it, with the line


def load_spec_text(text: str | bytes | None) -> ApiSpec:
    """Parse ``axon.yaml`` text (``None``: no file, all defaults); anchors and aliases are refused."""
    if text is None:
        return ApiSpec()
    if _has_alias(text):
        raise SpecYamlError("axon.yaml uses YAML anchors/aliases, which axon does not accept")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SpecYamlError(f"axon.yaml is not valid YAML{where}: {problem}") from None
    if data is not None and not isinstance(data, dict):
        raise SpecYamlError("axon.yaml must be a mapping at the top level")
    return parse_spec(data)
