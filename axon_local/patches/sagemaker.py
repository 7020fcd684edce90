"""Patches 4 and 5: SageMaker blue/green UpdateEndpoint, Creating, forced outcomes; current instance types."""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import botocore.session
from botocore.model import StringShape

from axon_local.patches import _registry
from axon_local.patches.options import UpdateOutcome


def _moto(name: str) -> Any:
    """moto's own ``SageMakerModelBackend`` method that a patch wraps."""
    from moto.sagemaker.models import SageMakerModelBackend

    return _registry.original(SageMakerModelBackend, name)


def apply() -> None:
    from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    _registry.patch(SageMakerModelBackend, "create_endpoint", _create_endpoint)
    _registry.patch(SageMakerModelBackend, "describe_endpoint", _describe_endpoint)
    _registry.patch(SageMakerModelBackend, "update_endpoint", _update_endpoint)
    _registry.patch(SageMakerModelBackend, "update_endpoint_weights_and_capacities", _update_weights_and_capacities)
    _registry.patch(SageMakerResponse, "update_endpoint", _update_endpoint_response)
    _registry.patch(FakeEndpointConfig, "validate_instance_type", _validate_instance_type)


@dataclass(frozen=True)
class _Frame:
    """What DescribeEndpoint shows for a while: the endpoint status and the pending deployment, if any."""

    status: str
    pending: dict[str, Any] | None = None


@dataclass
class _Progress:
    frames: list[_Frame]
    describes_per_frame: int
    finish: Callable[[Any], None]
    describes: int = 0
    # An update's rollback alarms, and what the deployment turns into when one of them is in ALARM.
    alarms: tuple[str, ...] = ()
    on_alarm: Callable[[str], _Progress] | None = None


@dataclass(frozen=True)
class _Forced:
    outcome: str
    reason: str | None


class SageMakerOutcomes:
    """Test control: make the next CreateEndpoint or UpdateEndpoint of an endpoint end badly.

    Examples
    --------
    >>> sagemaker_outcomes.next_update("axon-iris", "rolled_back")  # alarm-triggered rollback to the old config
    >>> sagemaker_outcomes.next_update("axon-iris", "failed", reason="new fleet failed /ping")
    >>> sagemaker_outcomes.fail_next_create("axon-iris")
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._updates: dict[str, _Forced] = {}
        self._creates: dict[str, _Forced] = {}

    def next_update(self, endpoint_name: str, outcome: UpdateOutcome, *, reason: str | None = None) -> None:
        """``rolled_back``: traffic reaches the first step, an alarm fires, the endpoint ends InService on the
        OLD config with a FailureReason. ``failed``: the new fleet never takes traffic; same end state."""
        if outcome not in ("rolled_back", "failed"):
            raise ValueError(f"unknown UpdateEndpoint outcome {outcome!r}")
        with self._lock:
            self._updates[endpoint_name] = _Forced(outcome, reason)

    def fail_next_create(self, endpoint_name: str, *, reason: str | None = None) -> None:
        """The next CreateEndpoint of this name ends ``Failed`` with a FailureReason."""
        with self._lock:
            self._creates[endpoint_name] = _Forced("failed", reason)

    def clear(self) -> None:
        with self._lock:
            self._updates.clear()
            self._creates.clear()

    def _take_update(self, endpoint_name: str) -> _Forced | None:
        with self._lock:
            return self._updates.pop(endpoint_name, None)

    def _take_create(self, endpoint_name: str) -> _Forced | None:
        with self._lock:
            return self._creates.pop(endpoint_name, None)


sagemaker_outcomes = SageMakerOutcomes()

# Per FakeEndpoint object (weak: moto's reset or DeleteEndpoint drops them with the endpoint).
_sagemaker_lock = threading.RLock()
_progress: weakref.WeakKeyDictionary[Any, _Progress] = weakref.WeakKeyDictionary()
_last_deployment_config: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _create_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
    """Wraps ``create_endpoint``: optionally ``Creating`` for a few DescribeEndpoint calls, or a forced failure.

    Faithful: CreateEndpoint answers at once and the endpoint reports ``Creating`` until it is ``InService``, or
    ``Failed`` with a ``FailureReason``.
    """
    endpoint = _moto("create_endpoint")(self, endpoint_name, endpoint_config_name, tags)
    forced = sagemaker_outcomes._take_create(endpoint_name)
    steps = _registry.options.endpoint_create_steps
    if forced is None and steps == 0:
        return endpoint

    def finish(target: Any) -> None:
        if forced is None:
            target.endpoint_status = "InService"
        else:
            target.endpoint_status = "Failed"
            target.failure_reason = forced.reason or "The endpoint failed to start (forced by axon_local.patches)."

    with _sagemaker_lock:
        endpoint.endpoint_status = "Creating"
        _progress[endpoint] = _Progress([_Frame("Creating")] * steps, 1, finish)
        if steps == 0:
            _advance(endpoint)
    return endpoint


def _describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
    """Wraps ``describe_endpoint``: each call moves a running create/update one step, and the response carries
    ``PendingDeploymentSummary`` while an update runs and ``LastDeploymentConfig`` after one."""
    endpoint = self.endpoints.get(endpoint_name)
    with _sagemaker_lock:
        pending = _advance(endpoint) if endpoint is not None else None
        response: dict[str, Any] = _moto("describe_endpoint")(self, endpoint_name)
        if pending is not None:
            response["PendingDeploymentSummary"] = pending
        if endpoint in _last_deployment_config:
            response["LastDeploymentConfig"] = _last_deployment_config[endpoint]
    return response


def _alarm_firing(endpoint: Any, alarms: tuple[str, ...]) -> str | None:
    """The first of ``alarms`` in ALARM state in the endpoint's account and region (moto's CloudWatch)."""
    if not alarms:
        return None
    from moto.cloudwatch.models import cloudwatch_backends

    _, _, _, region, account, _ = str(endpoint.arn).split(":", 5)
    backend = cloudwatch_backends[account][region]
    for name in alarms:
        alarm = backend.alarms.get(name)
        if alarm is not None and alarm.state_value == "ALARM":
            return name
    return None


def _advance(endpoint: Any) -> dict[str, Any] | None:
    progress = _progress.get(endpoint)
    if progress is None:
        return None
    firing = _alarm_firing(endpoint, progress.alarms)
    if firing is not None and progress.on_alarm is not None:  # SageMaker watches these while it shifts and bakes
        progress = _progress[endpoint] = progress.on_alarm(firing)
    index = progress.describes // progress.describes_per_frame
    progress.describes += 1
    if index >= len(progress.frames):
        del _progress[endpoint]
        progress.finish(endpoint)
        endpoint.last_modified_time = datetime.now(UTC)
        return None
    frame = progress.frames[index]
    endpoint.endpoint_status = frame.status
    return frame.pending


def _require_in_service(endpoint: Any) -> None:
    if endpoint.endpoint_status != "InService":
        raise _validation_error(
            f'Cannot update endpoint "{endpoint.arn}" while it is {endpoint.endpoint_status}; it must be InService.'
        )


def _update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    deployment_config: dict[str, Any] | None = None,
    retain_deployment_config: bool = False,
) -> str:
    """The ``UpdateEndpoint`` moto lacks (it raises ``NotImplementedError``), with AWS's request shape.

    Validates as SageMaker does (endpoint and config exist, endpoint ``InService``, canary/linear sizes), answers
    at once with the endpoint ``Updating``, then each DescribeEndpoint moves the blue/green deployment one step:
    the new fleet ``Creating``, then one ``Baking`` step per traffic shift of the strategy (ALL_AT_ONCE: 100%;
    CANARY: canary, 100%; LINEAR: step, 2 steps, ... 100%), then ``InService`` on the new config. The traffic on
    the new fleet shows as its variants' ``CurrentWeight`` = ``DesiredWeight`` x share in
    ``PendingDeploymentSummary``; the old fleet's variants stay as they were until the switch.
    """
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = f"arn:aws:sagemaker:{self.region_name}:{self.account_id}:endpoint/{endpoint_name}"
        raise _validation_error(f'Could not find endpoint "{arn}".')
    config = self.describe_endpoint_config(endpoint_config_name)
    with _sagemaker_lock:
        _require_in_service(endpoint)
        if deployment_config is None and retain_deployment_config:
            deployment_config = _last_deployment_config.get(endpoint)
        if deployment_config and "RollingUpdatePolicy" in deployment_config:
            raise NotImplementedError("axon_local.patches emulates BlueGreenUpdatePolicy only")
        variants = endpoint._process_production_variants(config["ProductionVariants"])
        if retain_all_variant_properties:
            excluded = {item["VariantPropertyType"] for item in exclude_retained_variant_properties or []}
            _retain_variant_properties(variants, endpoint.production_variants, excluded)
        total = sum(int(v.get("DesiredInstanceCount") or 0) for v in variants)
        shares = _traffic_shares(deployment_config or {}, total)
        forced = sagemaker_outcomes._take_update(endpoint_name)
        start = datetime.now(UTC)

        def pending(share: float, status: str, message: str) -> dict[str, Any]:
            return _pending_summary(endpoint_config_name, variants, share, status, message, start)

        frames = [_Frame("Updating", pending(0.0, "Creating", "Creating the new fleet"))]
        baking = [_Frame("Updating", pending(s, "Baking", f"{s:.0%} of traffic on the new fleet")) for s in shares]
        reason: str | None = None
        if forced is None:
            frames += baking
        elif forced.outcome == "rolled_back":
            rollback = deployment_config.get("AutoRollbackConfiguration", {}) if deployment_config else {}
            alarms = ", ".join(alarm["AlarmName"] for alarm in rollback.get("Alarms", [])) or "(none configured)"
            frames += [baking[0], _Frame("Updating", pending(0.0, "Deleting", "Traffic back on the old fleet"))]
            reason = forced.reason or (
                f"Deployment rolled back: alarm(s) {alarms} went into ALARM state (forced by axon_local.patches)."
            )
        else:
            reason = forced.reason or "The new fleet failed its health checks (forced by axon_local.patches)."

        def finish(target: Any) -> None:
            target.endpoint_status = "InService"
            if forced is None:
                target.endpoint_config_name = endpoint_config_name
                target.production_variants = variants
                target.data_capture_config = config.get("DataCaptureConfig")
                target.failure_reason = None
            else:
                target.failure_reason = reason

        def rolled_back_by(alarm: str) -> _Progress:
            def back(target: Any) -> None:
                target.endpoint_status = "InService"
                target.failure_reason = f"Deployment rolled back: alarm(s) {alarm} went into ALARM state."

            rollback_frame = _Frame("Updating", pending(0.0, "Deleting", "Traffic back on the old fleet"))
            return _Progress([rollback_frame], _registry.options.describes_per_update_step, back)

        rollback_alarms = (deployment_config or {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])
        endpoint.endpoint_status = "Updating"
        _progress[endpoint] = _Progress(
            frames,
            _registry.options.describes_per_update_step,
            finish,
            alarms=tuple(alarm["AlarmName"] for alarm in rollback_alarms),
            on_alarm=rolled_back_by,
        )
        if deployment_config:
            _last_deployment_config[endpoint] = deployment_config
    return str(endpoint.arn)


def _retain_variant_properties(new: list[dict[str, Any]], old: list[dict[str, Any]], excluded: set[str]) -> None:
    """RetainAllVariantProperties: same-named variants keep their instance count and weight unless excluded."""
    current = {variant["VariantName"]: variant for variant in old}
    for variant in new:
        previous = current.get(variant["VariantName"])
        if previous is None:
            continue
        if "DesiredInstanceCount" not in excluded:
            for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
                variant[key] = previous.get(key)
        if "DesiredWeight" not in excluded:
            for key in ("CurrentWeight", "DesiredWeight"):
                variant[key] = previous.get(key)


def _traffic_shares(deployment_config: Mapping[str, Any], total_instances: int) -> list[float]:
    """The new fleet's share of traffic after each shift of the blue/green strategy (the last is always 1.0)."""
    routing = deployment_config.get("BlueGreenUpdatePolicy", {}).get("TrafficRoutingConfiguration") or {}
    kind = routing.get("Type", "ALL_AT_ONCE")
    if kind == "ALL_AT_ONCE":
        return [1.0]
    if kind == "CANARY":
        canary = _capacity_share(routing, "CanarySize", total_instances)
        if not 0 < canary <= 0.5:
            raise _validation_error("CanarySize must be at most 50% of the variant's total instance count.")
        return [canary, 1.0]
    if kind == "LINEAR":
        step = _capacity_share(routing, "LinearStepSize", total_instances)
        if not 0.1 <= step <= 0.5:
            raise _validation_error("LinearStepSize must be 10-50% of the variant's total instance count.")
        return [min(1.0, round(step * k, 6)) for k in range(1, math.ceil(round(1 / step, 6)) + 1)]
    raise _validation_error(f"Invalid TrafficRoutingConfiguration Type {kind!r}.")


def _capacity_share(routing: Mapping[str, Any], key: str, total_instances: int) -> float:
    size = routing.get(key)
    if size is None:
        raise _validation_error(f"{key} is required for a {routing['Type']} traffic routing configuration.")
    value = float(size["Value"])
    if size["Type"] == "CAPACITY_PERCENT":
        return value / 100
    return value / total_instances if total_instances else math.inf


def _pending_summary(
    config_name: str, variants: list[dict[str, Any]], share: float, status: str, message: str, start: datetime
) -> dict[str, Any]:
    summaries = []
    for variant in variants:
        weight = float(variant.get("DesiredWeight") or 1.0)
        count = int(variant.get("DesiredInstanceCount") or 0)
        summaries.append(
            {
                "VariantName": variant["VariantName"],
                "DesiredWeight": weight,
                "CurrentWeight": round(weight * share, 6),
                "DesiredInstanceCount": count,
                "CurrentInstanceCount": 0 if status == "Creating" else count,
                "VariantStatus": [{"Status": status, "StatusMessage": message, "StartTime": start}],
            }
        )
    return {"EndpointConfigName": config_name, "ProductionVariants": summaries, "StartTime": start}


def _update_endpoint_response(self: Any) -> Any:
    """``SageMakerResponse.update_endpoint``: moto dispatches the action to this method by name."""
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
        deployment_config=self._get_param("DeploymentConfig"),
        retain_deployment_config=bool(self._get_param("RetainDeploymentConfig")),
    )
    return ActionResult({"EndpointArn": arn})


def _update_weights_and_capacities(
    self: Any, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
) -> Any:
    """Wraps ``update_endpoint_weights_and_capacities``.

    Gap: moto sets a variant's instance counts to None when the request sends only ``DesiredWeight`` (and the
    weights when it sends only ``DesiredInstanceCount``), and accepts the call while the endpoint is updating.
    Fix: fill what the request leaves out from the variant's current values (AWS leaves it unchanged) and refuse
    the call unless the endpoint is ``InService`` (AWS answers ValidationException).
    """
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is not None:
        with _sagemaker_lock:
            _require_in_service(endpoint)
        current = {variant["VariantName"]: variant for variant in endpoint.production_variants}
        filled = []
        for desired in desired_weights_and_capacities:
            variant = current.get(desired.get("VariantName"), {})
            filled.append(
                {
                    "DesiredWeight": variant.get("DesiredWeight"),
                    "DesiredInstanceCount": variant.get("DesiredInstanceCount"),
                    **desired,
                }
            )
        desired_weights_and_capacities = filled
    return _moto("update_endpoint_weights_and_capacities")(self, endpoint_name, desired_weights_and_capacities)


# --- 5. Instance types -------------------------------------------------------------------------------------------


@cache
def _production_variant_instance_types() -> frozenset[str]:
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("ProductionVariantInstanceType")
    return frozenset(cast(StringShape, shape).enum)


def _validate_instance_type(self: Any, instance_type: str) -> None:
    """Replaces ``FakeEndpointConfig.validate_instance_type``, whose hard-coded list stops at g4dn/inf1/p3.

    Faithful: the allowed values are botocore's own ``ProductionVariantInstanceType`` enum, the list AWS's API
    model publishes, with the same ValidationException for anything else.
    """
    if instance_type not in _production_variant_instance_types():
        raise _validation_error(
            f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
            "Member must satisfy enum value set: ProductionVariantInstanceType"
        )
