"""An ECS async API's rollout: both versions' tasks drain one queue, so a share is a share of task counts.

An async version has no target group and no listener rule: its tasks run ``axon-serve`` in worker mode, polling the
API's SQS queue (:mod:`axon.platforms.ecs.queue`). With one queue a canary cannot be a share of requests; it is a
share of the live fleet's size. Let ``N`` be blue's desired count when green is deployed (for a first version,
``autoscaling.init_replicas``), within green's ``min_replicas``/``max_replicas`` and at least 1. For each step ``p``
of ``rollout.traffic_steps`` green runs ``ceil(N * p / 100)`` tasks (at least 1) beside blue's unchanged ``N``:

- ``all_at_once`` (steps ``[100]``): green starts with ``N`` tasks; once all run, the bake, then green is live.
- ``canary`` (``[c, 100]``): green starts with ``ceil(N * c / 100)`` tasks, bakes, grows to ``N``, bakes, goes live.
- ``linear`` (``[s, 2s, ..., 100]``): green grows one step per bake.

Blue is never shrunk or stopped during the rollout, so a failing green never takes capacity from the live version;
green takes roughly ``green / (green + N)`` of the dequeued requests. The rollback alarms (the same names as every
platform's) watch green's own model errors and latency, which its workers publish in ``Axon/Api/<api>`` by
``Version``. A rollback scales green to 0 (its tasks finish what they hold; SQS delivers anything unfinished
again). Going live moves the queue's ``axon:live`` tag to green; blue's service goes at ``retire``. The rollout's
step and bake clock live in the queue's ``axon:shift`` tag, so any poll picks them up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from axon import names
from axon.platforms.alarms import RollbackAlarmMetrics, api_alarm_names, rollback_alarm_requests
from axon.platforms.base import DeploymentPhase, DeploymentStatus, VersionRef
from axon.platforms.ecs import queue as ecs_queue
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.ecs.queue import TAG_LIVE, TAG_SHIFT, QueueRef, Shift
from axon.platforms.ecs.shift import next_percent
from axon.platforms.errors import PlatformError
from axon.platforms.sagemaker import topics as async_topics
from axon.platforms.sagemaker.specs import AsyncTopics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_logs import CloudWatchLogsClient

WORKER_DRAIN_SECONDS = ecs_service.WORKER_STOP_TIMEOUT_SECONDS - 10


def full_count(version: VersionRef, blue: Any) -> int:
    """``N``: blue's size now (the autoscaler's last word) within green's bounds, at least 1 (green must prove
    it starts even when blue sits at 0)."""
    count = int(blue["desiredCount"]) if blue is not None else version.spec.init_replicas
    autoscaling = version.spec.autoscaling
    return max(1, min(max(count, autoscaling.min_replicas), autoscaling.max_replicas))


def step_count(full: int, percent: int) -> int:
    """Green's tasks at ``percent``: that share of ``full``, rounded up, at least one."""
    return max(1, math.ceil(full * percent / 100))


def worker_environment(version: VersionRef, queue: QueueRef, topics: AsyncTopics, region: str) -> dict[str, str]:
    """What turns ``axon-serve`` into a queue worker (``axon_serving.worker_mode``)."""
    return {
        names.ASYNC_QUEUE_URL_ENV: queue.url,
        names.ASYNC_SUCCESS_TOPIC_ENV: topics.success,
        names.ASYNC_ERROR_TOPIC_ENV: topics.error,
        names.ASYNC_VISIBILITY_ENV: str(ecs_queue.visibility_seconds(version.spec)),
        names.ASYNC_DRAIN_ENV: str(WORKER_DRAIN_SECONDS),
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def alarm_requests(version: VersionRef) -> list[dict[str, Any]]:
    """The rollback alarms on green's own worker metrics (model errors, and latency in seconds)."""
    source = RollbackAlarmMetrics(
        namespace=names.api_metric_namespace(version.api),
        dimensions=[{"Name": names.ASYNC_WORKER_VERSION_DIMENSION, "Value": version.label}],
        errors_metric=names.ASYNC_WORKER_ERRORS_METRIC,
        latency_metric=names.ASYNC_WORKER_LATENCY_METRIC,
        latency_unit_per_second=1.0,
    )
    return rollback_alarm_requests(version, source, f"{version.api} {version.label} (async workers)")


class AsyncRollout:
    """The async half of :class:`axon.platforms.ecs.platform.EcsPlatform` (clients injected)."""

    def __init__(
        self,
        ecs: ECSClient,
        elbv2: ElasticLoadBalancingv2Client,
        cloudwatch: CloudWatchClient,
        sqs: Any,
        sns: Any,
        config: EcsConfig,
        logs: CloudWatchLogsClient | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ecs, self.elbv2, self.cloudwatch = ecs, elbv2, cloudwatch
        self.sqs, self.sns = sqs, sns
        self.config, self.logs, self.clock = config, logs, clock

    @staticmethod
    def of(rollout: AsyncRollout | None, version: VersionRef) -> AsyncRollout | None:
        """The platform's async half for an async version (``None`` for a real-time one)."""
        if version.spec.kind != "async":
            return None
        if rollout is None:
            raise PlatformError("this deployment's ECS platform has no SQS/SNS client: it cannot run kind: async")
        return rollout

    def _service(self, api: str, label: str) -> Any:
        return ecs_service.active_service(self.ecs, self.config.cluster, api, label)

    def _full(self, version: VersionRef, previous: VersionRef | None) -> int:
        blue = self._service(previous.api, previous.label) if previous is not None else None
        return full_count(version, blue)

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Queue, DLQ, topics, alarms, then green's task definition and service at the first step. Idempotent:
        every call converges (CreateQueue/CreateTopic return what exists; the service is created once)."""
        queue = ecs_queue.ensure_queues(self.sqs, version.api, version.spec)
        topics = async_topics.ensure_topics(self.sns, version.api)
        for alarm in alarm_requests(version):
            self.cloudwatch.put_metric_alarm(**alarm)
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="OK", StateReason=f"axon: re-armed for {version.label}"
            )
        if self._service(version.api, version.label) is not None:
            return
        region = ecs_service.region_of(self.config.listener_arn)
        worker = worker_environment(version, queue, topics, region)
        task_definition = self.ecs.register_task_definition(
            **ecs_service.task_definition_request(version, self.config, worker)
        )
        first = version.spec.rollout.traffic_steps[0]
        self.ecs.create_service(
            **ecs_service.service_request(
                version,
                self.config,
                task_definition["taskDefinition"]["taskDefinitionArn"],
                None,
                step_count(self._full(version, previous), first),
            )
        )

    def status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        """One poll: wait for green's tasks, bake each step, grow green, go live; roll back on failure or alarm."""
        url = ecs_queue.queue_url(self.sqs, version.api)
        if url is None:
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"the queue of {version.api} is gone")
        state = ecs_queue.tags(self.sqs, url)
        if state.get(TAG_LIVE) == version.label:
            return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)
        shift = Shift.parse(state.get(TAG_SHIFT))
        shift = shift if shift is not None and shift.label == version.label else None
        steps = version.spec.rollout.traffic_steps
        percent = shift.percent if shift is not None else steps[0]
        health = ecs_service.read_health(self.ecs, self.elbv2, self.config.cluster, version, self.clock)
        if health is not None and not health.ready:  # a task of green that exited with an error fails it at once
            crashed = ecs_service.load_failure(self.ecs, self.logs, self.config.cluster, version)
            if crashed is not None:
                self.rollback(version, previous)
                return DeploymentStatus.failure(crashed)
        if health is None or health.failed_reason:
            why = health.failed_reason if health else "its service no longer exists"
            self.rollback(version, previous)
            return DeploymentStatus(DeploymentPhase.ROLLED_BACK, 0, message=f"{version.label} failed: {why}")
        fired = self._firing_alarms(version.api)
        if fired:
            self.rollback(version, previous)
            return DeploymentStatus(
                DeploymentPhase.ROLLED_BACK,
                0,
                message=f"alarm {', '.join(fired)} fired with {health.running} task(s) of {version.label} draining "
                "the queue; it is scaled to 0 and the previous version keeps consuming",
            )
        now = self.clock()
        if not health.ready:
            if shift is not None:  # a later step's tasks: its own placement clock
                health = replace(health, started_at=float(shift.since))
            waiting = ecs_service.waiting_status(version, health, self.config, now)
            if waiting.phase is DeploymentPhase.FAILED:
                self.rollback(version, previous)
                return DeploymentStatus(DeploymentPhase.ROLLED_BACK, 0, message=waiting.message)
            return DeploymentStatus(DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=waiting.message)
        if shift is None:  # every task of the first step runs: its bake starts now
            ecs_queue.tag(self.sqs, url, {TAG_SHIFT: Shift(version.label, percent, int(now)).tag()})
            return self._baking(version, percent, version.spec.rollout.bake_seconds, health.running)
        remaining = version.spec.rollout.bake_seconds - (now - shift.since)
        if remaining > 0:
            return self._baking(version, percent, int(remaining), health.running)
        target = next_percent(steps, percent)
        if target is None:  # the last step baked: green owns the queue
            ecs_queue.tag(self.sqs, url, {TAG_LIVE: version.label})
            ecs_queue.untag(self.sqs, url, [TAG_SHIFT])
            return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)
        count = step_count(self._full(version, previous), target)
        # The count first, then the tag: a poll interrupted between them sets the same count again.
        self.ecs.update_service(
            cluster=self.config.cluster,
            service=ecs_service.service_name(version.api, version.label),
            desiredCount=count,
        )
        ecs_queue.tag(self.sqs, url, {TAG_SHIFT: Shift(version.label, target, int(now)).tag()})
        return DeploymentStatus(
            DeploymentPhase.IN_PROGRESS,
            target,
            reachable=True,
            message=f"{version.label} grows to {count} task(s) ({target}% of the live fleet)",
        )

    def _baking(self, version: VersionRef, percent: int, remaining: int, running: int) -> DeploymentStatus:
        return DeploymentStatus(
            DeploymentPhase.IN_PROGRESS,
            percent,
            reachable=True,
            message=f"baking {running} task(s) of {version.label} ({percent}% step, {remaining} s left)",
        )

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Green stops consuming (desired 0); the queue goes back to blue, which never stopped."""
        url = ecs_queue.queue_url(self.sqs, version.api)
        if url is not None:
            state = ecs_queue.tags(self.sqs, url)
            if state.get(TAG_LIVE) == version.label:  # live but not committed: blue takes the queue back
                blue = self._service(previous.api, previous.label) if previous is not None else None
                if previous is not None and blue is None:
                    raise PlatformError(
                        f"{version.label} of {version.api} already owns the queue and {previous.label} was removed; "
                        f"{version.label} keeps consuming (roll out {previous.label} again with `axon rollback`)"
                    )
                if previous is not None:
                    ecs_queue.tag(self.sqs, url, {TAG_LIVE: previous.label})
                else:
                    ecs_queue.untag(self.sqs, url, [TAG_LIVE])
            shift = Shift.parse(state.get(TAG_SHIFT))
            if shift is not None and shift.label == version.label:
                ecs_queue.untag(self.sqs, url, [TAG_SHIFT])
        if self._service(version.api, version.label) is not None:
            self.ecs.update_service(
                cluster=self.config.cluster,
                service=ecs_service.service_name(version.api, version.label),
                desiredCount=0,
            )
        if previous is None:  # a first version: nothing serves, so the API's alarms go (its queue keeps requests)
            self.cloudwatch.delete_alarms(AlarmNames=api_alarm_names(version.api))

    def live(self, api: str) -> tuple[Any, bool] | None:
        """The service that owns the API's queue, and whether a rollout is under way; ``None`` for none."""
        url = ecs_queue.queue_url(self.sqs, api)
        if url is None:
            return None
        state = ecs_queue.tags(self.sqs, url)
        label = state.get(TAG_LIVE)
        service = self._service(api, label) if label else None
        return (service, TAG_SHIFT in state) if service is not None else None

    def owner(self, api: str) -> str | None:
        url = ecs_queue.queue_url(self.sqs, api)
        return ecs_queue.tags(self.sqs, url).get(TAG_LIVE) if url is not None else None

    def delete(self, api: str) -> None:
        """The queue, its DLQ and the topics go with the API (idempotent; a real-time API has none)."""
        ecs_queue.delete_queues(self.sqs, api)
        async_topics.delete_topics(self.sns, api)

    def _firing_alarms(self, api: str) -> list[str]:
        described = self.cloudwatch.describe_alarms(AlarmNames=api_alarm_names(api))
        return sorted(alarm["AlarmName"] for alarm in described["MetricAlarms"] if alarm["StateValue"] == "ALARM")
