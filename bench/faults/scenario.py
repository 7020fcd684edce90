"""Scenarios (platform x first deploy or update x strategy) and one run of a scenario, clean or with a fault.

A run uses a fresh API in a shared world: the previous version (if any) is rolled out unrecorded, the new upload
is recorded (and faulted), then the system settles: executions end, then the schedules fire a few times (one
reconcile period), and the API's end state is read and checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from axon.registry import VersionStatus
from axon_local.patches import fire_schedules
from bench.faults.invariants import EndState, check, classify
from bench.faults.model import CallSite, Injection, Outcome, Violation
from bench.faults.observe import end_state
from bench.faults.recorder import SETTLE, Call, Recorder
from bench.faults.world import World, bundle, client, poll

PLATFORMS = ("sagemaker", "ecs")
KINDS = ("first", "update")
STRATEGIES = ("all_at_once", "canary", "linear")
_ROLLOUT = {
    "all_at_once": "rollout: {strategy: all_at_once}",
    "canary": "rollout: {strategy: canary, canary_percent: 20}",
    "linear": "rollout: {strategy: linear, linear_step_percent: 50}",
}
_COMPUTE = {"sagemaker": "", "ecs": "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}"}
SMOKE = "smoke_test: {payload: {x: 1}}"  # so VerifyVersion runs in every scenario

ROLLOUT_TIMEOUT_SECONDS = 20.0  # a clean rollout takes 1-5 s on a busy two-core machine
SETTLE_TIMEOUT_SECONDS = 10.0
STUCK_TIMEOUT_SECONDS = 1.0
IDLE_SECONDS = 2.0
RECONCILE_TICKS = 3  # schedule firings that make one reconcile period


@dataclass(frozen=True)
class Scenario:
    platform: str
    kind: str  # "first": the API's first upload; "update": a second upload replacing a live v1
    strategy: str

    @property
    def name(self) -> str:
        return f"{self.platform}/{self.kind}/{self.strategy}"

    @property
    def spec(self) -> str:
        return "\n".join(line for line in (_COMPUTE[self.platform], _ROLLOUT[self.strategy], SMOKE) if line) + "\n"

    @classmethod
    def parse(cls, name: str) -> Scenario:
        platform, kind, strategy = name.split("/")
        if platform not in PLATFORMS or kind not in KINDS or strategy not in STRATEGIES:
            raise ValueError(f"unknown scenario {name!r}: <{'|'.join(PLATFORMS)}>/<{'|'.join(KINDS)}>/<strategy>")
        return cls(platform, kind, strategy)


ALL_SCENARIOS = tuple(Scenario(p, k, s) for p in PLATFORMS for k in KINDS for s in STRATEGIES)


class SetupError(RuntimeError):
    """The unrecorded part of a run (the previous version's rollout) did not end live: no fault is to blame."""


@dataclass
class RunResult:
    scenario: Scenario
    injection: Injection | None
    recorder: Recorder
    state: EndState
    seconds: float
    violations: list[Violation] = field(default_factory=list)

    @property
    def calls(self) -> list[Call]:
        return self.recorder.calls

    @property
    def outcome(self) -> Outcome:
        return classify(self.state)

    @property
    def reached(self) -> bool:
        """Whether the injected fault fired (a call site the faulted run never made leaves it unfired)."""
        return self.injection is None or self.recorder.fired


def run(world: World, scenario: Scenario, api: str, injection: Injection | None = None) -> RunResult:
    """Roll ``scenario`` out on ``api`` (which must be new) with ``injection``, settle, and check the invariants."""
    started = time.monotonic()
    uploads = _previous_version(world, scenario, api)
    recorder = Recorder(injection)
    with recorder.active():
        uploads.append(world.stack.upload(api, bundle(scenario.spec)))
        ended, _ = _wait(world, api, uploads[-1], ROLLOUT_TIMEOUT_SECONDS)
        recorder.phase = SETTLE
        settle(world, SETTLE_TIMEOUT_SECONDS if ended else STUCK_TIMEOUT_SECONDS)
        state = end_state(world, scenario.platform, api, tuple(uploads), 1 if scenario.kind == "update" else None)
    _stop_running(world)
    result = RunResult(scenario, injection, recorder, state, time.monotonic() - started)
    result.violations = check(state, recorder.calls, injection.fault if injection else None)
    return result


def call_sites(world: World, scenario: Scenario, api: str) -> list[CallSite]:
    """The call sites of a clean rollout of ``scenario`` on ``api``, without settling or checking (a catalog)."""
    _previous_version(world, scenario, api)
    recorder = Recorder()
    with recorder.active():
        version_id = world.stack.upload(api, bundle(scenario.spec))
        _wait(world, api, version_id, ROLLOUT_TIMEOUT_SECONDS)
    return recorder.sites()


def _previous_version(world: World, scenario: Scenario, api: str) -> list[str]:
    """An update's v1, rolled out unrecorded; the uploads so far."""
    if scenario.kind != "update":
        return []
    version_id = world.stack.upload(api, bundle(scenario.spec))
    _, status = _wait(world, api, version_id, ROLLOUT_TIMEOUT_SECONDS)
    if status != VersionStatus.LIVE:
        raise SetupError(f"{api}: the previous version ended {status}, not live")
    return [version_id]


def _wait(world: World, api: str, version_id: str, timeout: float) -> tuple[bool, VersionStatus | None]:
    """Wait until no execution runs and the upload is final, never registered, or left unfinished for
    ``IDLE_SECONDS`` (nothing runs that could finish it: the reconcile period may). Returns whether that happened
    before ``timeout`` (not: an execution that does not end) and the upload's status then."""
    status: list[VersionStatus | None] = [None]
    busy = [time.monotonic()]

    def done() -> bool:
        record = world.stack.registry.find_version(api, version_id)
        status[0] = record.status if record else None
        if world.stack.running_executions():
            busy[0] = time.monotonic()
            return False
        return record is None or record.status.is_final or time.monotonic() - busy[0] > IDLE_SECONDS

    return poll(done, timeout), status[0]


def settle(world: World, patience: float = SETTLE_TIMEOUT_SECONDS) -> None:
    """One reconcile period: executions end, then every schedule fires ``RECONCILE_TICKS`` times.

    ``patience`` bounds each wait for executions to end; a run whose rollout never ended gets little (it is broken
    already, and waiting again for the same execution would only slow the matrix down).
    """
    poll(lambda: not world.stack.running_executions(), patience)
    for _ in range(RECONCILE_TICKS):
        fire_schedules()
        poll(lambda: not world.stack.running_executions(), patience)


def _stop_running(world: World) -> None:
    """Stop executions that never ended (reported already), so the next run starts on a quiet world."""
    sfn = client("stepfunctions")
    arn = world.stack.provisioned.state_machine_arn
    for name in world.stack.running_executions():
        sfn.stop_execution(executionArn=f"{arn.replace(':stateMachine:', ':execution:', 1)}:{name}")
