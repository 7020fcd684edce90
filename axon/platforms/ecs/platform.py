"""ECS GPU services behind the Platform interface: blue-green by weighted target groups on one ALB rule per API.

Each version gets its own task definition family, target group and service (``axon-<api>-<label>``). The API's
production rule forwards to the live version's target group; during a rollout it lists blue and green with
weights, which every CheckDeployment poll moves one step along ``rollout.traffic_steps``. The rollout's progress
lives in AWS (the rule's weights, tags on green's target group), never in the Lambda, so any invocation can pick
it up. docs/ecs.md explains the design. This module holds the rollout's decisions (:class:`EcsPlatform` and the
pure :func:`~axon.platforms.ecs.shift.next_move`); :mod:`axon.platforms.ecs.listener` and :mod:`axon.platforms.ecs.service` hold the ALB's
and ECS's side of one version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from axon import names
from axon.platforms.alarms import api_alarm_names
from axon.platforms.base import Capacity, DeploymentPhase, DeploymentStatus, Platform, ReplicaSet, VersionRef
from axon.platforms.ecs import listener as alb
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs import smoke
from axon.platforms.ecs.async_rollout import AsyncRollout
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.ecs.listener import Listener, heaviest, weights
from axon.platforms.ecs.shift import MoveKind, next_move, shift_tag
from axon.platforms.errors import CapacityUnavailableError, PlatformError, SmokeTestFailedError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

_SMOKE_TIMEOUT_CAP = smoke.MAX_TIMEOUT_SECONDS  # seconds: VerifyVersion's Lambda has 120
# Tags on green's target group: the rollout's progress, read back from AWS by every CheckDeployment poll.
TAG_SHIFT = "axon:shift"  # "<percent>@<epoch seconds>": the weight last set, and when (the bake clock)
TAG_SMOKE = "axon:smoke-passed"  # "true" once the smoke test passed: traffic moves only after that
_DESCRIBE_SERVICES_LIMIT = 10  # DescribeServices takes at most 10 services


def _label_order(label: str) -> tuple[int, str]:
    """``v10`` after ``v9``: the sequence number of a ``v<seq>`` label, then the label."""
    digits = label[1:] if label.startswith("v") else ""
    return (int(digits) if digits.isdigit() else -1, label)


def shifting(percent: int, message: str) -> DeploymentStatus:
    """A rollout whose green is reachable and holds ``percent`` of the traffic."""
    return DeploymentStatus(DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=message)


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
        sqs: Any = None,
        sns: Any = None,
    ) -> None:
        self.ecs = ecs
        self.elbv2 = elbv2
        self.cloudwatch = cloudwatch
        self.config = config
        self.logs = logs  # reads a crashed task's log tail; without it a load failure names the task only
        self.clock = clock
        self.lambda_client = lambda_client  # invokes AxonEcs's smoke function (config.smoke_function)
        # kind: async (queue workers, no ALB): axon.platforms.ecs.async_rollout; needs SQS and SNS clients.
        self._async = AsyncRollout(ecs, elbv2, cloudwatch, sqs, sns, config, logs, clock) if sqs and sns else None

    def _async_for(self, version: VersionRef) -> AsyncRollout | None:
        return AsyncRollout.of(self._async, version)

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
        if (worker := self._async_for(version)) is not None:
            worker.deploy(version, previous)
            return
        target_group = self._listener.ensure_target_group(version, self.config.vpc_id)
        for alarm in alb.alarm_requests(version, self.config.listener_arn, target_group):
            self.cloudwatch.put_metric_alarm(**alarm)
            # An update keeps the alarm's state: a rollback alarm of the last rollout must not stop this one.
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="OK", StateReason=f"axon: re-armed for {version.label}"
            )
        if self._service(version.api, version.label) is None:
            task_definition = self.ecs.register_task_definition(
                **ecs_service.task_definition_request(version, self.config)
            )
            self.ecs.create_service(
                **ecs_service.service_request(
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
        if (worker := self._async_for(version)) is not None:
            return worker.status(version, previous)
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
        health = ecs_service.read_health(self.ecs, self.elbv2, self.config.cluster, version, self.clock)
        if health is not None and not health.ready and percent == 0:
            crashed = ecs_service.load_failure(self.ecs, self.logs, self.config.cluster, version)
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
                    f"({health.healthy} of {health.requested} healthy); traffic is back on the previous version",
                )
            return ecs_service.waiting_status(version, health, self.config, self.clock())
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
        if version.spec.smoke_test.payload is not None and tags.get(TAG_SMOKE) != "true":
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
        """Carry out the next move of :func:`next_move`: weights first, then the tag."""
        now = self.clock()
        move = next_move(version.spec.rollout, percent, tags.get(TAG_SHIFT), now, version.label)
        if move.kind == MoveKind.GO_LIVE:
            return self._go_live(version, previous, production, green)
        if move.kind == MoveKind.SHIFT:
            weighted = [(blue, 100 - move.percent), (green, move.percent)]
            self._listener.set_weights(version.api, production["RuleArn"], weighted)
        if move.kind in (MoveKind.SHIFT, MoveKind.RESTART_BAKE):
            self._listener.tag(green, {TAG_SHIFT: shift_tag(move.percent, now)})
        return shifting(move.percent, move.message)

    def _go_live(
        self, version: VersionRef, previous: VersionRef | None, production: Any, green: str
    ) -> DeploymentStatus:
        """All traffic to green, blue out of the rule; blue keeps its service and target group until the commit,
        so a failure before it can still put the traffic back (:meth:`rollback`)."""
        if production is None:
            conditions = alb.production_conditions(version.api)
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
        if (worker := self._async_for(version)) is not None:
            worker.rollback(version, previous)
            return
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
        if version.spec.kind == "async":  # refused at Validate: a queued request cannot be aimed at green
            raise SmokeTestFailedError(f"{version.api} is kind: async; its versions take no smoke test")
        green = self._target_group(version.api, version.label)
        if green is None:
            raise SmokeTestFailedError(f"{version.label} of {version.api} has no target group to test")
        if self.lambda_client is None:
            raise PlatformError("the ECS platform was built without a Lambda client for its smoke test")
        token = self._listener.ensure_test_rule(version, green)
        path = alb.path_pattern(version.api)
        headers = {"Content-Type": content_type, alb.VERSION_HEADER: version.label, alb.TEST_TOKEN_HEADER: token}
        timeout = min(version.spec.serving.request_timeout_seconds, _SMOKE_TIMEOUT_CAP)
        answer = smoke.invoke(self.lambda_client, self.config.smoke_function, path, payload, headers, timeout)
        if answer.error is not None:
            raise SmokeTestFailedError(f"{path} ({alb.VERSION_HEADER}: {version.label}) did not answer: {answer.error}")
        body = answer.content()
        if answer.status != 200:
            raise SmokeTestFailedError(f"{version.label} answered HTTP {answer.status}: {body[:200]!r}")
        self._listener.tag(green, {TAG_SMOKE: "true"})
        return body

    def remove_version(self, version: VersionRef) -> None:
        self._remove(version.api, version.label)

    # ---- capacity -------------------------------------------------------------------------------------------

    def capacity(self, api: str) -> Capacity | None:
        live = self._live(api)
        if live is None:
            return None
        service, shifting, _ = live
        return Capacity(
            variant=names.VARIANT_NAME,
            requested=int(service["desiredCount"]),
            ready=int(service["runningCount"]),
            can_change=not shifting,
            status="Shifting" if shifting else str(service["status"]),
        )

    def replica_sets(self, api: str) -> list[ReplicaSet] | None:
        """One set per ACTIVE service of the API (one service per version: ``axon-<api>-<label>``), newest
        version first: blue and green during a rollout, and blue until ``retire`` removed it."""
        labels = ecs_service.labels(self.ecs, self.config.cluster, api)
        services = [ecs_service.service_name(api, label) for label in labels]
        found = []
        for start in range(0, len(services), _DESCRIBE_SERVICES_LIMIT):
            batch = services[start : start + _DESCRIBE_SERVICES_LIMIT]
            for service in self.ecs.describe_services(cluster=self.config.cluster, services=batch)["services"]:
                label = ecs_service.label_of(api, str(service["serviceName"]))
                if service.get("status") == "ACTIVE" and label is not None:
                    found.append(ReplicaSet(label, int(service["desiredCount"]), int(service["runningCount"])))
        return sorted(found, key=lambda s: _label_order(s.version), reverse=True)

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        if variant != names.VARIANT_NAME:
            raise PlatformError(f"ECS APIs have one variant, {names.VARIANT_NAME}, not {variant!r}")
        live = self._live(api)
        if live is None:
            raise PlatformError(f"{api} has no live ECS service to scale")
        service, _, queued = live
        # An async API's requests wait in its queue, so it may have no task; a real-time API keeps one.
        count = max(replicas, 0 if queued else 1)
        self.ecs.update_service(cluster=self.config.cluster, service=service["serviceName"], desiredCount=count)

    def delete_api(self, api: str) -> None:
        listener = self._listener
        production = listener.production_rule(api)
        if production is not None:
            listener.delete_rule(production["RuleArn"])
        listener.delete_test_rules(api)
        if self._async is not None:  # an async API's queue (and its owner tag), DLQ and topics, like the rule
            self._async.delete(api)
        for label in sorted(ecs_service.labels(self.ecs, self.config.cluster, api)):
            self._remove(api, label)
        self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(api))

    # ---- helpers --------------------------------------------------------------------------------------------

    def _service(self, api: str, label: str) -> Any:
        return ecs_service.active_service(self.ecs, self.config.cluster, api, label)

    def _target_group(self, api: str, label: str) -> str | None:
        return self._listener.target_group(api, label)

    def _initial_count(self, version: VersionRef, previous: VersionRef | None) -> int:
        blue = self._service(previous.api, previous.label) if previous is not None else None
        return ecs_service.initial_count(version, blue)

    def _live(self, api: str) -> tuple[Any, bool, bool] | None:
        """The service taking (most of) the API's traffic or owning its queue, whether a rollout is changing that
        now, and whether the API is async (queue-fed)."""
        listener = self._listener
        weighted = listener.production_weights(api)
        if not weighted:
            found = self._async.live(api) if self._async is not None else None
            return (*found, True) if found is not None else None
        label = listener.tags(heaviest(weighted)).get(ecs_service.TAG_VERSION)
        service = self._service(api, label) if label else None
        return (service, len(weighted) > 1, False) if service is not None else None

    def _remove(self, api: str, label: str) -> None:
        """Delete one version's service, target group and task definitions; refuse if it still takes traffic."""
        listener = self._listener
        target_group = listener.target_group(api, label)
        if target_group is not None and target_group in dict(listener.production_weights(api)):
            raise PlatformError(f"{label} of {api} is still in the API's listener rule; roll traffic off it first")
        if target_group is None and self._async is not None and self._async.owner(api) == label:
            raise PlatformError(f"{label} of {api} owns the API's queue; roll out another version first")
        listener.delete_test_rules(api, label)
        ecs_service.delete_service(self.ecs, self.config.cluster, api, label)
        if target_group is not None:
            listener.delete_target_group(target_group)
        ecs_service.deregister_task_definitions(self.ecs, api, label)

    def _firing_alarms(self, api: str) -> list[str]:
        alarm_names = api_alarm_names(api)
        described = self.cloudwatch.describe_alarms(AlarmNames=alarm_names)
        return sorted(alarm["AlarmName"] for alarm in described["MetricAlarms"] if alarm["StateValue"] == "ALARM")
