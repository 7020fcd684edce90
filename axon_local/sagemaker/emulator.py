"""The request half of the local SageMaker: validates semantics as AWS does, records, starts operations.

Requests arrive already checked against the service model (``protocol.py``); this layer checks what only the
service knows (names taken, resources missing, endpoint busy) and answers at once, as SageMaker does: the slow
part of CreateEndpoint, UpdateEndpoint, UpdateEndpointWeightsAndCapacities and DeleteEndpoint runs on the
:class:`Deployer`, and DescribeEndpoint shows its progress.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from axon_local.sagemaker.clock import Clock
from axon_local.sagemaker.deployer import Deployer
from axon_local.sagemaker.describe import describe_endpoint, endpoint_summary, listed
from axon_local.sagemaker.errors import validation_error
from axon_local.sagemaker.ports import AlarmSource, Fleet, VariantSpec
from axon_local.sagemaker.records import (
    ConfigRecord,
    EndpointRecord,
    FleetRecord,
    ModelRecord,
    PendingDeployment,
    VariantState,
)
from axon_local.sagemaker.traffic import plan_rollout

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SageMakerEmulator:
    """SageMaker's model, endpoint-config and endpoint APIs over an injected fleet, alarm source and clock.

    Examples
    --------
    >>> emulator = SageMakerEmulator(fleet, alarms, SystemClock())          # doctest: +SKIP
    >>> emulator.call("DescribeEndpoint", {"EndpointName": "axon-iris"})    # doctest: +SKIP
    """

    def __init__(
        self,
        fleet: Fleet,
        alarms: AlarmSource,
        clock: Clock,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        poll_seconds: float = 1.0,
        background: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._prefix = f"arn:aws:sagemaker:{region}:{account}"
        self._deployer = Deployer(self._lock, fleet, alarms, clock, poll_seconds=poll_seconds, background=background)
        self._models: dict[str, ModelRecord] = {}
        self._configs: dict[str, ConfigRecord] = {}
        self._endpoints: dict[str, EndpointRecord] = {}
        self._fleet_ids = itertools.count(1)
        self._handlers: dict[str, Handler] = {
            "CreateModel": self._create_model,
            "DescribeModel": self._describe_model,
            "ListModels": self._list_models,
            "DeleteModel": self._delete_model,
            "CreateEndpointConfig": self._create_config,
            "DescribeEndpointConfig": self._describe_config,
            "ListEndpointConfigs": self._list_configs,
            "DeleteEndpointConfig": self._delete_config,
            "CreateEndpoint": self._create_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "UpdateEndpointWeightsAndCapacities": self._update_weights,
            "DescribeEndpoint": self._describe_endpoint,
            "ListEndpoints": self._list_endpoints,
            "DeleteEndpoint": self._delete_endpoint,
        }

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one API operation on validated ``params``; raise ``SageMakerApiError`` as AWS would."""
        return self._handlers[operation](params)

    def close(self) -> None:
        """Delete every endpoint now, stopping its replicas; models and configs cost nothing and stay."""
        with self._lock:
            endpoints = list(self._endpoints.values())
        for endpoint in endpoints:
            worker = endpoint.worker
            if endpoint.status == "Deleting" and worker is not None:
                worker.join()  # its DeleteEndpoint is already stopping it
            else:
                self._deployer.delete(endpoint, lambda: None, worker)
        with self._lock:
            self._endpoints.clear()

    def _arn(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}/{name.lower()}"

    # ---- models and endpoint configs ----------------------------------------------------------------------

    def _create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        arn = self._arn("model", name)
        containers = params.get("Containers") or ([params["PrimaryContainer"]] if "PrimaryContainer" in params else [])
        if not containers:
            raise validation_error("Either PrimaryContainer or Containers must be specified.")
        if len(containers) > 1:
            raise validation_error("The local SageMaker emulator serves single-container models only.")
        with self._lock:
            if name in self._models:
                raise validation_error(f'Cannot create already existing model "{arn}".')
            self._models[name] = ModelRecord(name, arn, copy.deepcopy(params), self._clock.now())
        return {"ModelArn": arn}

    def _model(self, name: str) -> ModelRecord:
        model = self._models.get(name)
        if model is None:
            raise validation_error(f'Could not find model "{self._arn("model", name)}".')
        return model

    def _describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            model = self._model(params["ModelName"])
            return {**copy.deepcopy(model.request), "ModelArn": model.arn, "CreationTime": model.creation_time}

    def _list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            items = [
                {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time} for m in self._models.values()
            ]
        return listed(items, params, "Models", "ModelName")

    def _delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._model(params["ModelName"])
            del self._models[params["ModelName"]]
        return {}

    def _create_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        arn = self._arn("endpoint-config", name)
        variants = [v["VariantName"] for v in params["ProductionVariants"]]
        if len(set(variants)) != len(variants):
            raise validation_error("Production variant names must be unique within an endpoint configuration.")
        with self._lock:
            for variant in params["ProductionVariants"]:
                self._model(variant["ModelName"])
                if "InitialInstanceCount" not in variant and "ServerlessConfig" not in variant:
                    raise validation_error(
                        f"InitialInstanceCount is required for production variant {variant['VariantName']}."
                    )
            if name in self._configs:
                raise validation_error(f'Cannot create already existing endpoint configuration "{arn}".')
            self._configs[name] = ConfigRecord(name, arn, copy.deepcopy(params), self._clock.now())
        return {"EndpointConfigArn": arn}

    def _config(self, name: str) -> ConfigRecord:
        config = self._configs.get(name)
        if config is None:
            raise validation_error(f'Could not find endpoint configuration "{self._arn("endpoint-config", name)}".')
        return config

    def _describe_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            config = self._config(params["EndpointConfigName"])
            request = copy.deepcopy(config.request)
            request.pop("Tags", None)
            return {**request, "EndpointConfigArn": config.arn, "CreationTime": config.creation_time}

    def _list_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            items = [
                {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time}
                for c in self._configs.values()
            ]
        return listed(items, params, "EndpointConfigs", "EndpointConfigName")

    def _delete_config(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._config(params["EndpointConfigName"])
            del self._configs[params["EndpointConfigName"]]
        return {}

    def _fleet_for(self, config_name: str) -> FleetRecord:
        """Resolve a config's variants to what the data plane runs (model image, bundle, environment)."""
        config = self._config(config_name)
        variants: dict[str, VariantState] = {}
        for variant in config.request["ProductionVariants"]:
            model = self._model(variant["ModelName"])
            container = (model.request.get("Containers") or [model.request.get("PrimaryContainer")])[0]
            count = int(variant.get("InitialInstanceCount", 1))
            weight = float(variant.get("InitialVariantWeight", 1.0))
            spec = VariantSpec(
                name=variant["VariantName"],
                image=container.get("Image", ""),
                model_data_url=container.get("ModelDataUrl"),
                environment=dict(container.get("Environment", {})),
                instance_count=count,
                asynchronous="AsyncInferenceConfig" in config.request,
            )
            variants[spec.name] = VariantState(spec, variant.get("InstanceType"), weight, weight, count)
        return FleetRecord(f"{config_name}#{next(self._fleet_ids)}", config_name, variants, self._clock.now())

    # ---- endpoints ----------------------------------------------------------------------------------------

    def _endpoint(self, name: str) -> EndpointRecord:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise validation_error(f'Could not find endpoint "{name}".')
        return endpoint

    def _create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        arn = self._arn("endpoint", name)
        with self._lock:
            if name in self._endpoints:
                raise validation_error(f'Cannot create already existing endpoint "{arn}".')
            fleet = self._fleet_for(params["EndpointConfigName"])
            now = self._clock.now()
            endpoint = EndpointRecord(
                name, arn, params["EndpointConfigName"], "Creating", now, now, tags=list(params.get("Tags", []))
            )
            endpoint.pending = PendingDeployment(params["EndpointConfigName"], fleet, now)
            self._endpoints[name] = endpoint
        self._deployer.start(endpoint, lambda: self._deployer.create(endpoint, fleet))
        return {"EndpointArn": arn}

    def _require_in_service(self, endpoint: EndpointRecord) -> None:
        if endpoint.status != "InService":
            raise validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')

    def _update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            endpoint = self._endpoint(params["EndpointName"])
            self._require_in_service(endpoint)
            fleet = self._fleet_for(params["EndpointConfigName"])
            live = endpoint.live
            assert live is not None  # InService endpoints always have a live fleet
            if params.get("RetainAllVariantProperties"):
                excluded = {p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties", [])}
                for name, variant in fleet.variants.items():
                    old = live.variants.get(name)
                    if old is None:
                        continue
                    if "DesiredInstanceCount" not in excluded:
                        variant.desired_count = old.current_count
                        variant.spec = replace(variant.spec, instance_count=old.current_count)
                    if "DesiredWeight" not in excluded:
                        variant.current_weight = variant.desired_weight = old.current_weight
            deployment = params.get("DeploymentConfig")
            if deployment is None and params.get("RetainDeploymentConfig"):
                deployment = endpoint.last_deployment_config
            green_instances = sum(v.desired_count for v in fleet.variants.values())
            plan = plan_rollout(deployment, green_instances)
            alarms = [a["AlarmName"] for a in (deployment or {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])]
            pending = PendingDeployment(params["EndpointConfigName"], fleet, self._clock.now())
            endpoint.pending = pending
            endpoint.status, endpoint.failure_reason = "Updating", None
            endpoint.last_modified = self._clock.now()
        self._deployer.start(
            endpoint, lambda: self._deployer.update(endpoint, pending, plan, alarms, copy.deepcopy(deployment))
        )
        return {"EndpointArn": endpoint.arn}

    def _update_weights(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            endpoint = self._endpoint(params["EndpointName"])
            self._require_in_service(endpoint)
            live = endpoint.live
            assert live is not None
            missing = [
                d["VariantName"] for d in params["DesiredWeightsAndCapacities"] if d["VariantName"] not in live.variants
            ]
            if missing:
                raise validation_error(
                    f'The variant(s) [{", ".join(missing)}] are not present in the endpoint "{endpoint.arn}".'
                )
            counts: dict[str, int] = {}
            for desired in params["DesiredWeightsAndCapacities"]:
                variant = live.variants[desired["VariantName"]]
                if desired.get("DesiredInstanceCount") == 0 and not variant.spec.asynchronous:
                    # Asynchronous inference endpoints may have no instance (requests wait in their queue).
                    raise validation_error("DesiredInstanceCount must be at least 1 for instance-based variants.")
                if "DesiredWeight" in desired:
                    variant.desired_weight = float(desired["DesiredWeight"])
                if "DesiredInstanceCount" in desired:
                    variant.desired_count = counts[variant.spec.name] = int(desired["DesiredInstanceCount"])
            endpoint.status, endpoint.failure_reason = "Updating", None
            endpoint.last_modified = self._clock.now()
        self._deployer.start(endpoint, lambda: self._deployer.resize(endpoint, counts))
        return {"EndpointArn": endpoint.arn}

    def _describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(describe_endpoint(self._endpoint(params["EndpointName"])))

    def _list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            items = [endpoint_summary(e) for e in self._endpoints.values()]
        return listed(items, params, "Endpoints", "EndpointName")

    def _delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self._lock:
            endpoint = self._endpoint(name)
            if endpoint.status == "Deleting":
                raise validation_error(f'Cannot delete endpoint "{endpoint.arn}" while it is being deleted.')
            endpoint.status = "Deleting"
            endpoint.last_modified = self._clock.now()

        def forget() -> None:
            with self._lock:
                if self._endpoints.get(name) is endpoint:
                    del self._endpoints[name]

        previous = endpoint.worker
        self._deployer.start(endpoint, lambda: self._deployer.delete(endpoint, forget, previous))
        return {}
