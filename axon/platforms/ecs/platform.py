"""ECS GPU services behind the Platform interface: blue-green by weighted target groups on one ALB rule per API.

Each version gets its own task definition family, target group and service (``axon-<api>-<label>``). The API's
production rule forwards to the live version's target group; during a rollout it lists blue and green with
weights, which every CheckDeployment poll moves one step along ``rollout.traffic_steps``. The rollout's
progress lives in AWS (the rule's weights, tags on green's target group), never in the Lambda, so any invocation
can pick it up. docs/ecs.md explains the design. The parts:

- :mod:`axon.platforms.ecs.specs`: request bodies and names (pure);
- :mod:`axon.platforms.ecs.listener`: target groups, their tags and the API's listener rules;
- :mod:`axon.platforms.ecs.capacity`: whether green is placed and healthy, and why not (GPU capacity);
- :mod:`axon.platforms.ecs.tasks`: green's tasks that exited because the model cannot load;
- :mod:`axon.platforms.ecs.shift`: the weight-walking and bake decision (pure);
- this module: the :class:`EcsPlatform` that puts them together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.alarms import api_alarm_names
from axon.platforms.base import Capacity, DeploymentPhase, DeploymentStatus, Platform, VersionRef
from axon.platforms.ecs import capacity, shift, smoke, specs, tasks
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.ecs.listener import Listener, error_code, heaviest, weights
from axon.platforms.errors import CapacityUnavailableError, PlatformError, SmokeTestFailedError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

_SMOKE_TIMEOUT_CAP = smoke.MAX_TIMEOUT_SECONDS  # seconds: VerifyVersion's Lambda has 120
_MISSING_SERVICE = {"ServiceNotFoundException", "ServiceNotActiveException"}


class EcsPlatform(Platform):
    name = "ecs"

    def __init__(
        self,
        ecs: ECSClient,
        elbv2: ElasticLoadBalancingv2Client,
        cloudwatch: CloudWatchClient,
        config: EcsConfig,
        *,
        logs: CloudWatchLogsClient | None = None,
        clock: Callable[[], float] = time.time,
        lambda_client: LambdaClient | None = None,
    ) -> None:
        self.ecs = ecs
        self.elbv2 = elbv2
        self.cloudwatch = cloudwatch
        self.config = config
        self.logs = logs  # reads a crashed task's log tail; without it a load failure names the task only
        self.clock = clock
        self.lambda_client = lambda_client  # invokes AxonEcs's smoke function (config.smoke_function)

    @property
    def _listener(self) -> Listener:
        return Listener(self.elbv2, self.config.listener_arn, self.config.auth)

    # ---- rollout --------------------------------------------------------------------------------------------

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Start green at 0 % of traffic: target group, alarms, task definition, service, test rule. Idempotent."""
        instance_type = version.spec.compute.instance_type
        if instance_type not in self.config.capacity_providers:
            offered = ", ".join(sorted(self.config.capacity_providers))
            raise CapacityUnavailableError(
                f"cluster {self.config.cluster} has no capacity provider for {instance_type} (it offers {offered}); "
                "add the type to the AxonEcs stack (cdk context axon:gpuInstanceTypes)"
            )
        target_group = self._listener.ensure_target_group(version, self.config.vpc_id)
        for alarm in specs.alarm_requests(version, self.config.listener_arn, target_group):
            self.cloudwatch.put_metric_alarm(**alarm)
            # An update keeps the alarm's state: a rollback alarm of the last rollout must not stop this one.
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="OK", StateReason=f"axon: re-armed for {version.label}"
            )
        if self._service(version.api, version.label) is None:
            task_definition = self.ecs.register_task_definition(**specs.task_definition_request(version, self.config))
            self.ecs.create_service(
                **specs.service_request(
                    version,
                    self.config,
                    task_definition["taskDefinition"]["taskDefinitionArn"],
                    target_group,
                    self._initial_count(version, previous),
                )
            )
        self._listener.ensure_test_rule(version, target_group)

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        """Reconcile one step: wait for green's health and smoke test, then move the weights one bake at a time."""
        listener = self._listener
        green = listener.target_group(version.api, version.label)
        if green is None:
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"the target group of {version.label} is gone")
        production = listener.production_rule(version.api)
        weighted = weights(production)
        if [arn for arn, _ in weighted] == [green]:
            listener.delete_test_rules(version.api)
            return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)
        percent = dict(weighted).get(green, 0)
        health = capacity.read_health(self.ecs, self.elbv2, self.config.cluster, version, self.clock)
        if health is not None and not health.ready and percent == 0:
            crashed = tasks.load_failure(self.ecs, self.logs, self.config.cluster, version)
            if crashed is not None:
                return DeploymentStatus.failure(crashed)
        if health is None or health.failed_reason:
            why = health.failed_reason if health else "its service no longer exists"
            if percent > 0:
                self.rollback(version, previous)
                return DeploymentStatus(DeploymentPhase.ROLLED_BACK, 0, message=f"{version.label} failed: {why}")
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"{version.label} could not start: {why}")
        if not health.ready:
            if percent > 0:
                self.rollback(version, previous)
                return DeploymentStatus(
                    DeploymentPhase.ROLLED_BACK,
                    0,
                    message=f"{version.label} lost healthy targets with {percent}% of traffic "
                    f"({health.healthy} of {health.desired} healthy); traffic is back on the previous version",
                )
            return capacity.waiting_status(version, health, self.config, self.clock())
        fired = self._firing_alarms(version.api)
        if fired:
            self.rollback(version, previous)
            return DeploymentStatus(
                DeploymentPhase.ROLLED_BACK,
                0,
                message=f"alarm {', '.join(fired)} fired with {percent}% of traffic on {version.label}; "
                "all traffic is back on the previous version",
            )
        tags = listener.tags(green)
        if version.spec.smoke_test.payload is not None and tags.get(specs.TAG_SMOKE) != "true":
            return DeploymentStatus(
                DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=f"{version.label} is healthy; smoke test"
            )
        blue = [(arn, weight) for arn, weight in weighted if arn != green]
        if production is None or not blue:
            return self._go_live(version, previous, production, green)  # nothing to shift from: all at once
        return self._step(version, previous, production, heaviest(blue), green, percent, tags)

    def _step(
        self,
        version: VersionRef,
        previous: VersionRef | None,
        production: Any,
        blue: str,
        green: str,
        percent: int,
        tags: dict[str, str],
    ) -> DeploymentStatus:
        """Carry out the next move of :func:`axon.platforms.ecs.shift.next_move`: weights first, then the tag."""
        now = self.clock()
        move = shift.next_move(version.spec.rollout, percent, tags.get(specs.TAG_SHIFT), now, version.label)
        if move.kind == shift.MoveKind.GO_LIVE:
            return self._go_live(version, previous, production, green)
        if move.kind == shift.MoveKind.SHIFT:
            weighted = [(blue, 100 - move.percent), (green, move.percent)]
            self._listener.set_weights(version.api, production["RuleArn"], weighted)
        if move.kind in (shift.MoveKind.SHIFT, shift.MoveKind.RESTART_BAKE):
            self._listener.tag(green, {specs.TAG_SHIFT: specs.shift_tag(move.percent, now)})
        return shift.shifting(move.percent, move.message)

    def _go_live(
        self, version: VersionRef, previous: VersionRef | None, production: Any, green: str
    ) -> DeploymentStatus:
        """All traffic to green, blue out of the rule; blue keeps its service and target group until the commit,
        so a failure before it can still put the traffic back (:meth:`rollback`)."""
        if production is None:
            conditions = specs.production_conditions(version.api)
            self._listener.create_rule(version.api, conditions, [(green, 100)], production=True)
        else:
            self._listener.set_weights(version.api, production["RuleArn"], [(green, 100)])
        self._listener.delete_test_rules(version.api)
        return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)

    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        """After the commit: blue's service, target group and task definitions go (idempotent, so a retried
        CompleteRollout is harmless)."""
        self._listener.delete_test_rules(version.api)
        if previous is not None and previous.label != version.label:
            self._remove(previous.api, previous.label)

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        """All weight back on blue and the test rule gone; with no blue, the API's rule goes (nothing to serve)."""
        listener = self._listener
        listener.delete_test_rules(version.api)
        if previous is None:  # a first version: nothing serves, so the API's alarms go
            self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(version.api))
        production = listener.production_rule(version.api)
        green = listener.target_group(version.api, version.label)
        weighted = weights(production)
        if production is None or green not in dict(weighted):
            return  # traffic never reached green
        blue = [(arn, weight) for arn, weight in weighted if arn != green]
        kept = listener.target_group(previous.api, previous.label) if previous is not None else None
        if blue:
            listener.set_weights(version.api, production["RuleArn"], [(heaviest(blue), 100)])
        elif kept is not None:  # green took all traffic, but the commit did not happen: blue takes it back
            listener.set_weights(version.api, production["RuleArn"], [(kept, 100)])
        elif previous is None:
            listener.delete_rule(production["RuleArn"])
        else:
            raise PlatformError(
                f"{version.label} of {version.api} already took all traffic and {previous.label} was removed; "
                f"{version.label} keeps serving (roll out {previous.label} again with `axon rollback`)"
            )

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        """One request through the ALB's test rule: ``X-Axon-Version: <label>`` plus the rule's secret
        ``X-Axon-Test-Token`` reach green only; without the secret a request takes the production rule. It is sent
        by AxonEcs's smoke function from inside the VPC (:mod:`axon.platforms.ecs.smoke`), for every ALB scheme."""
        green = self._target_group(version.api, version.label)
        if green is None:
            raise SmokeTestFailedError(f"{version.label} of {version.api} has no target group to test")
        if self.lambda_client is None:
            raise PlatformError("the ECS platform was built without a Lambda client for its smoke test")
        token = self._listener.ensure_test_rule(version, green)
        path = specs.path_pattern(version.api)
        headers = {"Content-Type": content_type, specs.VERSION_HEADER: version.label, specs.TEST_TOKEN_HEADER: token}
        timeout = min(version.spec.serving.request_timeout_seconds, _SMOKE_TIMEOUT_CAP)
        answer = smoke.invoke(self.lambda_client, self.config.smoke_function, path, payload, headers, timeout)
        if answer.error is not None:
            raise SmokeTestFailedError(
                f"{path} ({specs.VERSION_HEADER}: {version.label}) did not answer: {answer.error}"
            )
        body = answer.content()
        if answer.status != 200:
            raise SmokeTestFailedError(f"{version.label} answered HTTP {answer.status}: {body[:200]!r}")
        self._listener.tag(green, {specs.TAG_SMOKE: "true"})
        return body

    def remove_version(self, version: VersionRef) -> None:
        self._remove(version.api, version.label)

    # ---- capacity -------------------------------------------------------------------------------------------

    def capacity(self, api: str) -> Capacity | None:
        live = self._live(api)
        if live is None:
            return None
        service, shifting = live
        return Capacity(
            variant=names.VARIANT_NAME,
            desired=int(service["desiredCount"]),
            current=int(service["runningCount"]),
            can_change=not shifting,
            status="Shifting" if shifting else str(service["status"]),
        )

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        if variant != names.VARIANT_NAME:
            raise PlatformError(f"ECS APIs have one variant, {names.VARIANT_NAME}, not {variant!r}")
        live = self._live(api)
        if live is None:
            raise PlatformError(f"{api} has no live ECS service to scale")
        self.ecs.update_service(cluster=self.config.cluster, service=live[0]["serviceName"], desiredCount=replicas)

    def delete_api(self, api: str) -> None:
        listener = self._listener
        production = listener.production_rule(api)
        if production is not None:
            listener.delete_rule(production["RuleArn"])
        listener.delete_test_rules(api)
        labels: set[str] = set()
        for page in self.ecs.get_paginator("list_services").paginate(cluster=self.config.cluster):
            labels.update(filter(None, (specs.label_of(api, arn.rsplit("/", 1)[-1]) for arn in page["serviceArns"])))
        prefix = f"{names.endpoint_name(api)}-"
        for families in self.ecs.get_paginator("list_task_definition_families").paginate(
            familyPrefix=prefix, status="ACTIVE"
        ):
            labels.update(filter(None, (specs.label_of(api, family) for family in families["families"])))
        for label in sorted(labels):
            self._remove(api, label)
        self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(api))

    # ---- helpers --------------------------------------------------------------------------------------------

    def _service(self, api: str, label: str) -> Any:
        return capacity.active_service(self.ecs, self.config.cluster, api, label)

    def _target_group(self, api: str, label: str) -> str | None:
        return self._listener.target_group(api, label)

    def _initial_count(self, version: VersionRef, previous: VersionRef | None) -> int:
        blue = self._service(previous.api, previous.label) if previous is not None else None
        return capacity.initial_count(version, blue)

    def _live(self, api: str) -> tuple[Any, bool] | None:
        """The service taking (most of) the API's traffic, and whether a rollout is moving the weights now."""
        listener = self._listener
        weighted = listener.production_weights(api)
        if not weighted:
            return None
        label = listener.tags(heaviest(weighted)).get(specs.TAG_VERSION)
        service = self._service(api, label) if label else None
        return (service, len(weighted) > 1) if service is not None else None

    def _remove(self, api: str, label: str) -> None:
        """Delete one version's service, target group and task definitions; refuse if it still takes traffic."""
        listener = self._listener
        target_group = listener.target_group(api, label)
        if target_group is not None and target_group in dict(listener.production_weights(api)):
            raise PlatformError(f"{label} of {api} is still in the API's listener rule; roll traffic off it first")
        listener.delete_test_rules(api, label)
        try:
            self.ecs.update_service(cluster=self.config.cluster, service=specs.service_name(api, label), desiredCount=0)
            self.ecs.delete_service(cluster=self.config.cluster, service=specs.service_name(api, label))
        except ClientError as error:
            if error_code(error) not in _MISSING_SERVICE:
                raise
        if target_group is not None:
            listener.delete_target_group(target_group)
        family = specs.task_family(api, label)
        for page in self.ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
            for arn in page["taskDefinitionArns"]:
                if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family:
                    self.ecs.deregister_task_definition(taskDefinition=arn)

    def _firing_alarms(self, api: str) -> list[str]:
        alarm_names = api_alarm_names(api)
        described = self.cloudwatch.describe_alarms(AlarmNames=alarm_names)
        return sorted(alarm["AlarmName"] for alarm in described["MetricAlarms"] if alarm["StateValue"] == "ALARM")
