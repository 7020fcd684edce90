"""SageMaker real-time endpoints behind the Platform interface (request bodies in :mod:`.specs`, a model that
cannot load in :mod:`.logs`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.aws import is_transient
from axon.errors import TransientError
from axon.platforms.alarms import api_alarm_names
from axon.platforms.base import Capacity, DeploymentPhase, DeploymentStatus, Platform, ReplicaSet, VersionRef
from axon.platforms.errors import ModelLoadFailedError, PlatformError, SmokeTestFailedError
from axon.platforms.sagemaker import logs as sagemaker_logs
from axon.platforms.sagemaker import specs, topics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

_UPDATING = {"Updating", "SystemUpdating", "RollingBack"}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_missing(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return _error_code(error) in {"ValidationException", "ResourceNotFound"} and (
        "Could not find" in message or "does not exist" in message
    )


def _role_not_assumable_yet(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return _error_code(error) == "ValidationException" and "Could not assume role" in message


def _already_exists(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return _error_code(error) == "ValidationException" and "already exist" in message


def _of_api(prefix: str, name: str) -> bool:
    """``axon-<api>-<label>`` is this API's, ``axon-<api>-2-<label>`` another's (labels hold no ``-``: ``v3``)."""
    return name.startswith(prefix) and "-" not in name[len(prefix) :]


class SageMakerPlatform(Platform):
    name = "sagemaker"

    def __init__(
        self,
        sagemaker: SageMakerClient,
        runtime: SageMakerRuntimeClient,
        cloudwatch: CloudWatchClient,
        execution_role_arn: str,
        *,
        logs: CloudWatchLogsClient | None = None,
        clock: Callable[[], float] = time.time,
        sns: Any = None,
        models_bucket: str = "",
    ) -> None:
        self.sagemaker = sagemaker
        self.runtime = runtime
        self.cloudwatch = cloudwatch
        self.execution_role_arn = execution_role_arn
        self.logs = logs  # reads why a model could not load; without it SageMaker's own verdict stands
        self.clock = clock
        self.sns = sns  # async APIs' notification topics (axon.platforms.sagemaker.topics)
        self.models_bucket = models_bucket  # async APIs' inputs/ and results/ live there

    # ---- rollout --------------------------------------------------------------------------------------------

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        alarms = specs.alarm_requests(version)
        for alarm in alarms:
            self.cloudwatch.put_metric_alarm(**alarm)
        try:
            self._create_ignoring_existing(
                self.sagemaker.create_model, specs.model_request(version, self.execution_role_arn)
            )
        except ClientError as error:
            if _role_not_assumable_yet(error):  # IAM is eventually consistent: a new role takes seconds to be seen
                raise TransientError(f"SageMaker cannot assume {version.role_arn} yet: {error}") from error
            raise
        endpoint = self._describe(version.api)
        live = self._live_variant(endpoint) if endpoint else None
        autoscaling = version.spec.autoscaling
        count = live.get("DesiredInstanceCount", live.get("CurrentInstanceCount")) if live else None
        instances = min(
            max(int(count or version.spec.init_replicas), autoscaling.min_replicas, 1), autoscaling.max_replicas
        )
        self._create_ignoring_existing(
            self.sagemaker.create_endpoint_config,
            specs.endpoint_config_request(version, instances, self._async_config(version)),
        )
        if endpoint is None:
            self.sagemaker.create_endpoint(
                EndpointName=names.endpoint_name(version.api),
                EndpointConfigName=names.endpoint_config_name(version.api, version.label),
                Tags=[{"Key": "axon:api", "Value": version.api}],
            )
            return
        new_config = names.endpoint_config_name(version.api, version.label)
        pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if new_config in (endpoint["EndpointConfigName"], pending):
            return  # a retried Deploy step: the update was already accepted (and may still be running)
        self.sagemaker.update_endpoint(**specs.update_endpoint_request(version, [a["AlarmName"] for a in alarms]))

    def _async_config(self, version: VersionRef) -> dict[str, Any] | None:
        """An async API's ``AsyncInferenceConfig``, its topics created first; ``None`` for a real-time API."""
        if version.spec.kind != "async":
            return None
        if self.sns is None or not self.models_bucket:
            raise topics.AsyncTopicsError("this deployment's SageMaker platform has no SNS client or models bucket")
        return specs.async_inference_config(version, self.models_bucket, topics.ensure_topics(self.sns, version.api))

    def _delete_topics(self, api: str) -> None:
        """An API's async topics go with it; a real-time API never had any (deleting is a no-op then)."""
        if self.sns is not None:
            topics.delete_topics(self.sns, api)

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        endpoint = self._describe(version.api)
        if endpoint is None:
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message="the endpoint no longer exists")
        status = endpoint["EndpointStatus"]
        new_config = names.endpoint_config_name(version.api, version.label)
        reason = endpoint.get("FailureReason", "")
        if status == "Creating":
            failed = self._load_failure(version)
            if failed is not None:
                return DeploymentStatus.failure(failed)  # the failure handler deletes the endpoint
            return DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message="creating the endpoint")
        if status in {"Failed", "UpdateRollbackFailed", "OutOfService", "Deleting"}:
            failed_status = DeploymentStatus(DeploymentPhase.FAILED, 0, message=reason or f"endpoint is {status}")
            return self._explained(version, endpoint, failed_status)
        if status in _UPDATING:
            percent = self._pending_percent(endpoint, new_config)
            pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
            failed = self._load_failure(version) if pending == new_config else None
            if failed is not None:
                self._stop_update(version.api, f"{version.label} could not load its model")
                return DeploymentStatus.failure(failed)
            return DeploymentStatus(
                DeploymentPhase.IN_PROGRESS, percent, reachable=percent == 100, message=f"endpoint is {status}"
            )
        if endpoint["EndpointConfigName"] == new_config:
            return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)
        # InService on another config after our update: SageMaker rolled the deployment back.
        rolled_back = DeploymentStatus(
            DeploymentPhase.ROLLED_BACK, 0, message=reason or "SageMaker rolled the update back (an alarm fired)"
        )
        return self._explained(version, endpoint, rolled_back)

    def _load_failure(self, version: VersionRef) -> ModelLoadFailedError | None:
        """``axon-serve``'s marker in the endpoint's logs since the version's endpoint config was created."""
        if self.logs is None:
            return None
        try:
            config = self.sagemaker.describe_endpoint_config(
                EndpointConfigName=names.endpoint_config_name(version.api, version.label)
            )
        except ClientError as error:
            if _is_missing(error):
                return None
            raise
        return sagemaker_logs.load_failure(self.logs, version.api, config["CreationTime"], version.label)

    def _explained(self, version: VersionRef, endpoint: Any, verdict: DeploymentStatus) -> DeploymentStatus:
        """SageMaker's own verdict, unless the logs say the model could not load; a container that failed its ping
        check a moment ago may not have its last lines delivered yet, so wait a little for them."""
        failed = self._load_failure(version)
        if failed is not None:
            return DeploymentStatus.failure(failed)
        changed: datetime | None = endpoint.get("LastModifiedTime")
        recent = changed is not None and self.clock() - changed.timestamp() < sagemaker_logs.LOG_DELIVERY_SECONDS
        if self.logs is not None and recent and sagemaker_logs.PING_FAILED in verdict.message:
            return DeploymentStatus(
                DeploymentPhase.IN_PROGRESS, 0, message=f"{verdict.message} (reading the endpoint's logs for why)"
            )
        return verdict

    @staticmethod
    def _pending_percent(endpoint: Any, new_config: str) -> int:
        """Share of traffic on the new fleet, from ``PendingDeploymentSummary`` (weights of the green fleet).

        AWS documents no field for the split mid-shift; the green variants' ``CurrentWeight`` relative to their
        ``DesiredWeight`` is the reading axon uses (and its emulators report). Once the endpoint names the new
        config while still ``Updating`` (the old fleet is being terminated), all traffic is on the new fleet.
        """
        if endpoint.get("EndpointConfigName") == new_config:
            return 100
        pending = endpoint.get("PendingDeploymentSummary") or {}
        if pending.get("EndpointConfigName") != new_config:
            return 0
        variants = pending.get("ProductionVariants") or []
        current = sum(float(v.get("CurrentWeight") or 0) for v in variants)
        desired = sum(float(v.get("DesiredWeight") or 0) for v in variants)
        return round(100 * current / desired) if desired > 0 else 0

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        endpoint = self._describe(version.api)
        if previous is None:  # a first version: nothing serves, so the API's endpoint and alarms go
            if endpoint is not None:
                self.delete_endpoint(version.api)
            self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(version.api))
            if version.spec.kind == "async":
                self._delete_topics(version.api)
            return
        if endpoint is None:
            return
        new_config = names.endpoint_config_name(version.api, version.label)
        pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
        if endpoint["EndpointStatus"] in _UPDATING and pending == new_config:
            self._stop_update(version.api, "the new version failed its smoke test")
            return
        if endpoint["EndpointConfigName"] != new_config:
            return  # traffic is not on the new version
        self.sagemaker.update_endpoint(**specs.rollback_update_request(previous))

    def _stop_update(self, api: str, why: str) -> None:
        """No API stops a deployment, but the alarms in AutoRollbackConfiguration do: trip one."""
        self.cloudwatch.set_alarm_state(
            AlarmName=names.alarm_name(api, "5xx"), StateValue="ALARM", StateReason=f"axon: {why}"
        )

    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Nothing to do: SageMaker's blue/green update terminates the old fleet itself; old models and configs
        are pruned with the kept versions."""

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        try:
            response = self.runtime.invoke_endpoint(
                EndpointName=names.endpoint_name(version.api), Body=payload, ContentType=content_type
            )
        except ClientError as error:
            if is_transient(error) and error.response.get("Error", {}).get("Code") != "ModelError":
                raise  # throttled or unavailable: the step is retried, the version is not judged on it
            raise SmokeTestFailedError(f"{names.endpoint_name(version.api)} answered {error}") from None
        body: bytes = response["Body"].read()
        return body

    def remove_version(self, version: VersionRef) -> None:
        self._ignore_missing(
            self.sagemaker.delete_endpoint_config,
            EndpointConfigName=names.endpoint_config_name(version.api, version.label),
        )
        self._ignore_missing(self.sagemaker.delete_model, ModelName=names.model_name(version.api, version.label))

    # ---- capacity -------------------------------------------------------------------------------------------

    def capacity(self, api: str) -> Capacity | None:
        endpoint = self._describe(api)
        variant = self._live_variant(endpoint) if endpoint else None
        if endpoint is None or variant is None:
            return None
        ready = int(variant.get("CurrentInstanceCount") or 0)
        return Capacity(
            variant=variant["VariantName"],
            requested=_desired(variant, ready),
            ready=ready,
            can_change=endpoint["EndpointStatus"] == "InService",
            status=endpoint["EndpointStatus"],
        )

    def replica_sets(self, api: str) -> list[ReplicaSet] | None:
        """The fleet of a blue/green update (``PendingDeploymentSummary``) first, then the endpoint's current one;
        each fleet's version is the label of its endpoint config (``axon-<api>-<label>``)."""
        endpoint = self._describe(api)
        if endpoint is None:
            return []
        prefix = f"{names.endpoint_name(api)}-"
        pending = endpoint.get("PendingDeploymentSummary") or {}
        fleets = [
            (pending.get("EndpointConfigName"), pending.get("ProductionVariants")),
            (endpoint.get("EndpointConfigName"), endpoint.get("ProductionVariants")),
        ]
        found = []
        for config, variants in fleets:
            variant = self._live_variant({"ProductionVariants": variants}) if config else None
            if variant is None:
                continue
            label = str(config)[len(prefix) :] if str(config).startswith(prefix) else ""
            ready = int(variant.get("CurrentInstanceCount") or 0)
            found.append(ReplicaSet(label, _desired(variant, ready), ready))
        return found

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        self.sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=names.endpoint_name(api),
            DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": replicas}],
        )

    def delete_api(self, api: str) -> None:
        self.delete_endpoint(api)
        # Listed in full before deleting (a page token may skip what a delete moved), past 100 too: versions that
        # failed before their cleanup leave configs and models behind.
        configs = self._names_of(api, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName")
        models = self._names_of(api, "list_models", "Models", "ModelName")
        for config in configs:
            self._ignore_missing(self.sagemaker.delete_endpoint_config, EndpointConfigName=config)
        for model in models:
            self._ignore_missing(self.sagemaker.delete_model, ModelName=model)
        self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(api))
        self._delete_topics(api)

    def _names_of(self, api: str, operation: str, items: str, field: str) -> list[str]:
        """Every ``axon-<api>-<label>`` name a List operation finds, over all its pages."""
        prefix = f"{names.endpoint_name(api)}-"
        pages = self.sagemaker.get_paginator(operation).paginate(NameContains=prefix)  # type: ignore[call-overload]
        return [item[field] for page in pages for item in page[items] if _of_api(prefix, item[field])]

    def delete_endpoint(self, api: str) -> None:
        self._ignore_missing(self.sagemaker.delete_endpoint, EndpointName=names.endpoint_name(api))

    # ---- helpers --------------------------------------------------------------------------------------------

    def _describe(self, api: str) -> Any:
        try:
            return self.sagemaker.describe_endpoint(EndpointName=names.endpoint_name(api))
        except ClientError as error:
            if _is_missing(error):
                return None
            raise PlatformError(f"DescribeEndpoint failed: {error}") from error

    @staticmethod
    def _live_variant(endpoint: Any) -> Any:
        for variant in endpoint.get("ProductionVariants") or []:
            if variant.get("VariantName") == names.VARIANT_NAME:
                return variant
        return None

    @staticmethod
    def _create_ignoring_existing(create: Any, request: dict[str, Any]) -> None:
        try:
            create(**request)
        except ClientError as error:
            if not _already_exists(error):
                raise

    @staticmethod
    def _ignore_missing(delete: Any, **kwargs: Any) -> None:
        try:
            delete(**kwargs)
        except ClientError as error:
            if not _is_missing(error):
                raise


def _desired(variant: Mapping[str, Any], ready: int) -> int:
    """The variant's ``DesiredInstanceCount``, 0 included (an async endpoint scaled to zero); ``ready`` without one."""
    desired = variant.get("DesiredInstanceCount")
    return ready if desired is None else int(desired)
