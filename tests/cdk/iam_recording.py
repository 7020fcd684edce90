"""Every AWS call axon's Lambdas make, recorded by the fault harness on moto: the input of the IAM check.

Clean scenarios of ``bench.faults.scenario`` make the rollout's calls and, in their reconcile period, the
autoscaler's and the reconciler's. The paths below reach what a clean rollout never does:
a rollback on each platform (SageMaker's both ways: axon's after a failed smoke test, SageMaker's own on an
alarm), an aborted execution on each platform (``on_execution_end``, and the reconciler
asking about a running execution), an image build, the autoscaler changing capacity on each platform, and the
reconciler registering an upload whose event was missed.
"""

from __future__ import annotations

import contextvars
import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axon_serving.emf import signal_request
from axon_serving.metrics import Service, Window
from s3transfer.futures import BoundedExecutor

from axon import names
from axon.platforms.base import DeploymentPhase, DeploymentStatus
from axon.platforms.sagemaker.platform import SageMakerPlatform
from axon.registry import VersionStatus
from axon.rollout import recovery
from axon_local.patches import fire_schedules, invocation_outcomes, sagemaker_fleet
from bench.faults.iam import Role
from bench.faults.matrix import Runner
from bench.faults.recorder import SETTLE, Call, Recorder
from bench.faults.scenario import SMOKE, Scenario, settle
from bench.faults.world import World, bundle, client, open_world, rule_weights
from tests.functional.rollout.conftest import bundle as rollout_bundle
from tests.functional.rollout.conftest import put_in_flight

ECS = "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n"
ASYNC = "kind: async\n"
BAKING = "rollout: {strategy: canary, canary_percent: 10, bake_seconds: 3600}\n"
# One scenario per platform x kind, each strategy once: the twelve of ALL_SCENARIOS make the same calls on the same
# kinds of resources (only names and ids differ), at three times the cost.
SCENARIOS = tuple(
    Scenario.parse(name)
    for name in ("sagemaker/first/all_at_once", "sagemaker/update/canary", "ecs/first/linear", "ecs/update/all_at_once")
)
BUSY = 6.0  # in-flight requests per replica: the autoscaler scales up


class _InheritingExecutor(ThreadPoolExecutor):
    """Runs each task in a copy of its submitter's context, so a handler's S3 transfer threads stay its own."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


@contextmanager
def transfers_recorded() -> Iterator[None]:
    """``s3.copy`` runs its HeadObject/CopyObject on s3transfer's pool, whose threads do not inherit the context
    variable that marks a call as a handler's; without this the recorder never sees them (nor their permissions)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BoundedExecutor, "EXECUTOR_CLS", _InheritingExecutor)
        yield


@dataclass(frozen=True)
class Recording:
    calls: list[Call]
    environment: dict[str, str]  # what the world's functions were configured with (names of its resources)
    seconds: dict[str, float]  # per scenario and path
    roles: dict[str, Role]  # every IAM role the world held at the end or a handler created


def record_all() -> Recording:
    """Every recorded call of :data:`SCENARIOS` and :data:`PATHS`, in one fresh moto account."""
    calls: list[Call] = []
    seconds: dict[str, float] = {}
    with transfers_recorded(), open_world() as world:
        runner = Runner(world, prefix="iam")
        for scenario in SCENARIOS:
            result, _ = runner.record(scenario)
            assert result.outcome.value == "new live", f"{scenario.name}: {result.outcome}"
            calls += result.calls
            seconds[scenario.name] = result.seconds
        paths = Paths(world)
        for path in PATHS:
            calls += paths.record(path)
        environment = dict(world.stack.provisioned.environment)
        roles = _roles(calls)
    return Recording(calls, environment, {**seconds, **paths.seconds}, roles)


def _roles(calls: list[Call]) -> dict[str, Role]:
    """Path and boundary of each role: IAM authorizes a role by its ARN (path included) and its boundary."""
    iam = client("iam")
    found = {}
    for listed in iam.list_roles()["Roles"]:
        role = iam.get_role(RoleName=listed["RoleName"])["Role"]
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        found[role["RoleName"]] = Role(role["Path"], boundary)
    for call in calls:
        if (call.site.service, call.site.operation) == ("iam", "CreateRole"):
            boundary = call.params.get("PermissionsBoundary")
            found.setdefault(call.params["RoleName"], Role(call.params.get("Path", "/"), boundary))
    return found


@dataclass(frozen=True)
class ReplicaCall:
    """A call an API's replicas make as the API's own role: by the serving runtime, or by the platform for them."""

    role: str  # IAM role name
    service: str
    operation: str
    params: dict[str, Any]


def _s3_object(uri: str) -> dict[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return {"Bucket": bucket, "Key": key}


def _metric(role: str, environment: dict[str, str]) -> ReplicaCall:
    """The serving runtime's PutMetricData (``axon_serving.emf.signal_request``) for this environment."""
    service = Service(arrivals=2, served=1, total=0.5, minimum=0.5, maximum=0.5)  # every datum the call can hold
    window = Window(
        0.0, in_flight=1.0, samples=1, requests=1, errors_4xx=0, errors_5xx=0, latency_ms=1.0, service=service
    )
    api, variant, key = environment["AXON_API"], environment["AXON_VARIANT"], environment.get(names.SIGNAL_KEY_ENV, "")
    return ReplicaCall(role, "cloudwatch", "PutMetricData", signal_request(window, api, variant, key))


def replica_calls(calls: list[Call]) -> Iterator[ReplicaCall]:
    """What every version's replicas do as their role, from the models and task definitions the rollouts made.

    SageMaker pulls the image, downloads ``ModelDataUrl`` and writes the endpoint's log group as the model's
    execution role; on ECS the task role downloads ``AXON_BUNDLE_URI`` (the execution role, shared, pulls and
    logs). On both, axon-serve puts the in-flight metric.
    """
    for call in calls:
        site, params = call.site, call.params
        if call.error is not None:
            continue
        if (site.service, site.operation) == ("sagemaker", "CreateModel"):
            role = params["ExecutionRoleArn"].rsplit("/", 1)[1]
            container = params["PrimaryContainer"]
            environment = dict(container["Environment"])
            repository = container["Image"].split("/", 1)[1].split("@")[0].split(":")[0]
            group = {"logGroupName": names.log_group(environment["AXON_API"]), "logStreamName": "AllTraffic/i-0"}
            yield ReplicaCall(role, "s3", "GetObject", _s3_object(container["ModelDataUrl"]))
            yield ReplicaCall(role, "ecr", "GetAuthorizationToken", {})
            for operation in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage"):
                yield ReplicaCall(role, "ecr", operation, {"repositoryName": repository})
            for operation in ("CreateLogStream", "PutLogEvents"):
                yield ReplicaCall(role, "logs", operation, group)
        elif (site.service, site.operation) == ("ecs", "RegisterTaskDefinition"):
            role = params["taskRoleArn"].rsplit("/", 1)[1]
            (container,) = params["containerDefinitions"]
            environment = {e["name"]: e["value"] for e in container["environment"]}
            yield ReplicaCall(role, "s3", "GetObject", _s3_object(environment["AXON_BUNDLE_URI"]))
            if names.ASYNC_QUEUE_URL_ENV in environment:
                yield from _worker_calls(role, environment)
        else:
            continue
        yield _metric(role, environment)


def _worker_calls(role: str, environment: dict[str, str]) -> Iterator[ReplicaCall]:
    """What ``axon-serve`` in worker mode does as the task role (``axon_serving.queue_worker``): take a request from
    the API's queue, read its input, write the answer and a failure, notify both topics, publish its metrics."""
    api, queue = environment["AXON_API"], {"QueueUrl": environment[names.ASYNC_QUEUE_URL_ENV]}
    bucket = environment["AXON_BUNDLE_URI"].removeprefix("s3://").split("/", 1)[0]
    for operation in ("ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage"):
        yield ReplicaCall(role, "sqs", operation, queue)
    for operation in ("HeadObject", "GetObject"):
        yield ReplicaCall(role, "s3", operation, {"Bucket": bucket, "Key": f"{names.async_input_prefix(api)}r1"})
    for key in (names.async_output_key(api, "r1"), names.async_failure_key(api, "r1")):
        yield ReplicaCall(role, "s3", "PutObject", {"Bucket": bucket, "Key": key})
    for variable in (names.ASYNC_SUCCESS_TOPIC_ENV, names.ASYNC_ERROR_TOPIC_ENV):
        yield ReplicaCall(role, "sns", "Publish", {"TopicArn": environment[variable]})
    metric = {"MetricName": names.ASYNC_WORKER_ERRORS_METRIC, "Value": 0.0}
    yield ReplicaCall(
        role, "cloudwatch", "PutMetricData", {"Namespace": names.api_metric_namespace(api), "MetricData": [metric]}
    )


class Paths:
    """The extra paths: each on a new API, its previous version (if any) unrecorded, the rest recorded."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.stack: Any = world.stack  # the rollout tests' Stack (wait_final, wait_until)
        self._apis = (f"iamx{n}" for n in itertools.count())
        self.seconds: dict[str, float] = {}

    def record(self, path: Callable[[Paths, str, Recorder], None]) -> list[Call]:
        recorder = Recorder()
        started = time.monotonic()
        path(self, next(self._apis), recorder)
        self.seconds[path.__name__] = time.monotonic() - started
        return recorder.calls

    def live(self, api: str, spec: str = "") -> None:
        record = self.stack.wait_final(api, self.stack.upload(api, bundle(spec + SMOKE)))
        assert record.status == VersionStatus.LIVE, record.reason

    def final(self, api: str, spec: str) -> VersionStatus:
        return VersionStatus(self.stack.wait_final(api, self.stack.upload(api, bundle(spec))).status)

    def settle(self, recorder: Recorder) -> None:
        recorder.phase = SETTLE
        settle(self.world)

    def stop_running(self) -> None:
        (name,) = self.stack.running_executions()
        arn = self.stack.provisioned.state_machine_arn
        client("stepfunctions").stop_execution(executionArn=names.execution_arn(arn, name), cause="iam check")


def sagemaker_smoke_failure(paths: Paths, api: str, recorder: Recorder) -> None:
    paths.live(api)
    invocation_outcomes.fail(names.endpoint_name(api), status=500, message="KeyError: 'instances'")
    try:
        with recorder.active():
            assert paths.final(api, SMOKE) == VersionStatus.ROLLED_BACK
            paths.settle(recorder)
    finally:
        invocation_outcomes.clear()


def sagemaker_alarm_rollback(paths: Paths, api: str, recorder: Recorder) -> None:
    """SageMaker rolls an update back itself (an alarm during the update): CheckDeployment reads the endpoint's logs
    for a model-load failure before taking SageMaker's verdict (DescribeEndpointConfig, FilterLogEvents)."""
    paths.live(api)
    sagemaker_fleet().hold_launches()
    try:
        with recorder.active():
            version_id = paths.stack.upload(api, bundle("rollout: {strategy: canary}\n"))
            paths.stack.wait_until(lambda: paths.stack.endpoint_status(api) == "Updating", "the update to start")
            alarm = names.alarm_name(api, "5xx")
            client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="iam check")
            sagemaker_fleet().release()
            assert paths.stack.wait_final(api, version_id).status == VersionStatus.ROLLED_BACK
            client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="iam check")
            paths.settle(recorder)
    finally:
        sagemaker_fleet().release()


def ecs_alarm_during_bake(paths: Paths, api: str, recorder: Recorder) -> None:
    paths.live(api, ECS)
    with recorder.active():
        version_id = paths.stack.upload(api, bundle(ECS + BAKING))
        paths.stack.wait_until(lambda: len(rule_weights(paths.world.ecs, api)) == 2, "the canary step")
        alarm = names.alarm_name(api, "5xx")
        client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="iam check")
        assert paths.stack.wait_final(api, version_id).status == VersionStatus.ROLLED_BACK
        paths.settle(recorder)


def sagemaker_aborted(paths: Paths, api: str, recorder: Recorder) -> None:
    paths.live(api)
    waiting = DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message="waiting for capacity")

    def never_done(*_: Any) -> DeploymentStatus:
        time.sleep(0.2)
        return waiting

    with recorder.active():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(SageMakerPlatform, "deployment_status", never_done)
            version_id = paths.stack.upload(api, bundle("serving: {max_concurrency: 2}\n"))
            paths.stack.wait_until(lambda: paths.stack.version(api, version_id).status == VersionStatus.DEPLOYING, "v2")
            fire_schedules()  # the reconciler asks Step Functions whether the lease's execution still runs
            paths.stop_running()
            assert paths.stack.wait_final(api, version_id).status == VersionStatus.FAILED
        paths.settle(recorder)


def ecs_aborted_then_scaled(paths: Paths, api: str, recorder: Recorder) -> None:
    paths.live(api, ECS)
    with recorder.active():
        version_id = paths.stack.upload(api, bundle(ECS + BAKING))
        paths.stack.wait_until(lambda: len(rule_weights(paths.world.ecs, api)) == 2, "the canary step")
        fire_schedules()
        paths.stop_running()
        assert paths.stack.wait_final(api, version_id).status == VersionStatus.FAILED
        put_in_flight(api, BUSY)
        paths.settle(recorder)


def ecs_async_canary_then_scaled(paths: Paths, api: str, recorder: Recorder) -> None:
    """An async API on ECS (issue 15): its queue, DLQ and topics at the first rollout, a canary of task counts, the
    autoscaler reading which version owns the queue. No smoke test: async versions take none."""
    with recorder.active():
        first = paths.stack.upload(api, bundle(ECS + ASYNC))
        assert paths.stack.wait_final(api, first).status == VersionStatus.LIVE
        second = paths.stack.upload(api, bundle(ECS + ASYNC + "rollout: {strategy: canary, canary_percent: 50}\n"))
        assert paths.stack.wait_final(api, second).status == VersionStatus.LIVE
        paths.settle(recorder)


def image_build_then_scaled(paths: Paths, api: str, recorder: Recorder) -> None:
    """New requirements: an image cache miss, so ResolveImage starts a build and CheckBuild polls it."""
    with recorder.active():
        data = rollout_bundle(SMOKE, requirements="numpy>=1.26\n")
        assert paths.stack.wait_final(api, paths.stack.upload(api, data)).status == VersionStatus.LIVE
        put_in_flight(api, BUSY)
        paths.settle(recorder)


def missed_upload(paths: Paths, api: str, recorder: Recorder) -> None:
    """Last: it removes the upload rule's target for the rest of the world's life."""
    paths.live(api)
    client("events").remove_targets(Rule=names.UPLOAD_RULE, Ids=["intake"])
    with recorder.active(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(recovery, "MISSED_UPLOAD_GRACE", timedelta(0))
        version_id = paths.stack.upload(api, bundle("serving: {max_concurrency: 2}\n"))
        fire_schedules()
        assert paths.stack.wait_final(api, version_id).status == VersionStatus.LIVE
        paths.settle(recorder)


PATHS: tuple[Callable[[Paths, str, Recorder], None], ...] = (
    sagemaker_smoke_failure,
    sagemaker_alarm_rollback,
    ecs_alarm_during_bake,
    sagemaker_aborted,
    ecs_aborted_then_scaled,
    ecs_async_canary_then_scaled,
    image_build_then_scaled,
    missed_upload,
)
