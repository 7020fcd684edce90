"""The invariants of issue 10, checked on an API's end state and the calls its Lambdas made.

I1  the version the API points at is never deleted and never loses its traffic except to a newer version that
    went live (from the call log, and the end state);
I2  every accepted upload reaches a final state (and no rollout runs forever);
I3  no lease outlives its owner's execution after a reconcile period;
I4  registry and platform agree at rest: the live version serves 100%;
I5  nothing a finished rollout created is left behind except the live and kept versions;
outcome: the end state is one the fault allows (``model.EXPECTED``).

Everything here is pure: :class:`EndState` is plain data (see ``observe.py``), so a unit test can feed a broken
state and see the violation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from axon.rollout.release import KEEP_VERSIONS
from bench.faults.model import EXPECTED, Fault, Outcome, Violation
from bench.faults.recorder import Call

LIVE, SUPERSEDED, FAILED, ROLLED_BACK = "live", "superseded", "failed", "rolled_back"
FINAL = frozenset({LIVE, SUPERSEDED, FAILED, ROLLED_BACK})
EXECUTION_RUNNING = "RUNNING"


@dataclass(frozen=True)
class VersionView:
    seq: int
    label: str
    version_id: str  # S3 VersionId of the upload
    status: str


@dataclass(frozen=True)
class EndState:
    """An API after its rollout and a reconcile period, as plain data."""

    platform: str
    api: str
    uploads: tuple[str, ...]  # S3 VersionIds the scenario uploaded, oldest first (the last one is the new version)
    previous_seq: int | None  # the version live before the new upload
    versions: tuple[VersionView, ...]
    live_seq: int | None
    lease_owner: str | None
    executions: Mapping[str, str]  # execution name -> status
    serving: tuple[tuple[str, int], ...]  # (label, weight) the platform routes the API's traffic to
    platform_status: str  # SageMaker EndpointStatus, "InService" for ECS, "" when nothing serves
    resources: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kind -> labels; "api" for API-wide

    def version(self, seq: int | None) -> VersionView | None:
        return next((v for v in self.versions if v.seq == seq), None)

    def upload(self, version_id: str) -> VersionView | None:
        return next((v for v in self.versions if v.version_id == version_id), None)


def _label(resource: str, api: str) -> str | None:
    """``axon-<api>-<label>`` (SageMaker models and configs, ECS services) -> label."""
    return ecs_service.label_of(api, resource)


def _target_group_label(arn: str, api: str, labels: Sequence[str]) -> str | None:
    name = arn.split(":", 5)[-1].split("/")[1] if "/" in arn else arn
    return next((label for label in labels if ecs_listener.target_group_name(api, label) == name), None)


# Calls that delete a version's resources or take its traffic away, and how to find the version they hit:
# (service, operation) -> (params, api, labels known to the registry) -> label hit, "*" for the whole API.
DESTRUCTIVE: Mapping[tuple[str, str], Callable[[Mapping[str, Any], str, Sequence[str]], str | None]] = {
    ("sagemaker", "DeleteEndpoint"): lambda p, api, _: "*" if p.get("EndpointName") == f"axon-{api}" else None,
    ("sagemaker", "DeleteEndpointConfig"): lambda p, api, _: _label(str(p.get("EndpointConfigName")), api),
    ("sagemaker", "DeleteModel"): lambda p, api, _: _label(str(p.get("ModelName")), api),
    ("ecs", "DeleteService"): lambda p, api, _: _label(str(p.get("service")), api),
    ("ecs", "UpdateService"): lambda p, api, _: (
        _label(str(p.get("service")), api) if p.get("desiredCount") == 0 else None
    ),
    ("elbv2", "DeleteTargetGroup"): lambda p, api, labels: _target_group_label(
        str(p.get("TargetGroupArn")), api, labels
    ),
}


def classify(state: EndState) -> Outcome:
    new = state.upload(state.uploads[-1]) if state.uploads else None
    if new is None:
        return Outcome.BROKEN
    if new.status == LIVE and state.live_seq == new.seq:
        return Outcome.NEW_LIVE
    if new.status in (FAILED, ROLLED_BACK) and state.live_seq == state.previous_seq:
        return Outcome.OLD_KEPT
    return Outcome.BROKEN


def check(state: EndState, calls: Sequence[Call], fault: Fault | None) -> list[Violation]:
    """Every violation of the run; ``fault`` None is the clean run (only the new version going live is right)."""
    allowed = EXPECTED[fault] if fault is not None else frozenset({Outcome.NEW_LIVE})
    found = [*_i1(state, calls), *_i2(state), *_i3(state), *_i4(state), *_i5(state)]
    outcome = classify(state)
    if outcome not in allowed:
        new = state.upload(state.uploads[-1]) if state.uploads else None
        status = new.status if new else "never registered"
        found.append(
            Violation(
                "outcome",
                f"{outcome}: new upload {status}, live_seq {state.live_seq} (before: {state.previous_seq}); "
                f"expected {' or '.join(sorted(allowed))}",
            )
        )
    return found


def _protected(state: EndState) -> set[str]:
    """Labels that must never be deleted: the version live at the end, and the one live before unless replaced."""
    labels = set()
    live, previous = state.version(state.live_seq), state.version(state.previous_seq)
    if live is not None:
        labels.add(live.label)
    if previous is not None and (state.live_seq is None or state.live_seq <= previous.seq):
        labels.add(previous.label)
    return labels


def _i1(state: EndState, calls: Sequence[Call]) -> list[Violation]:
    found = []
    if state.previous_seq is not None and (state.live_seq is None or state.live_seq < state.previous_seq):
        found.append(Violation("I1", f"the API went from live v{state.previous_seq} to {state.live_seq}"))
    protected = _protected(state)
    labels = [v.label for v in state.versions]
    for call in calls:
        target = DESTRUCTIVE.get((call.site.service, call.site.operation))
        hit = target(call.params, state.api, labels) if target is not None and call.error is None else None
        if hit is not None and protected and (hit == "*" or hit in protected):
            what = "the API's endpoint" if hit == "*" else hit
            found.append(Violation("I1", f"{call.site}: {call.site.operation} of {what} while it serves (live)"))
    return found


def _i2(state: EndState) -> list[Violation]:
    found = []
    for version_id in state.uploads:
        record = state.upload(version_id)
        if record is None:
            found.append(Violation("I2", f"upload {version_id} was never registered (lost)"))
        elif record.status not in FINAL:
            found.append(Violation("I2", f"{record.label} is still {record.status}"))
    for name, status in sorted(state.executions.items()):
        if status == EXECUTION_RUNNING:
            found.append(Violation("I2", f"execution {name} still running after the reconcile period"))
    return found


def _i3(state: EndState) -> list[Violation]:
    owner = state.lease_owner
    if owner is None or state.executions.get(owner) == EXECUTION_RUNNING:
        return []
    status = state.executions.get(owner, "never started")
    return [Violation("I3", f"lease held by {owner}, whose execution is {status}")]


def _i4(state: EndState) -> list[Violation]:
    found = []
    live = state.version(state.live_seq)
    expected = ((live.label, 100),) if live is not None else ()
    serving = tuple((label, weight) for label, weight in state.serving if weight > 0)
    if serving != expected:
        found.append(Violation("I4", f"registry live {live.label if live else None}, platform serves {serving}"))
    if live is not None and state.platform_status != "InService":
        found.append(Violation("I4", f"{live.label} is live but the platform is {state.platform_status}"))
    for version in state.versions:
        if version.status == LIVE and version.seq != state.live_seq:
            found.append(Violation("I4", f"{version.label} is marked live but the API points at {state.live_seq}"))
    if live is not None and live.status != LIVE:
        found.append(Violation("I4", f"the API points at {live.label}, which is {live.status}"))
    return found


# Which versions' resources a platform keeps after a rollout: SageMaker keeps the last KEEP_VERSIONS that went live
# (for fast rollback), ECS removes blue once green takes all traffic. "api": resources of the API as a whole.
KEPT_WENT_LIVE: Mapping[str, int] = {"sagemaker": KEEP_VERSIONS, "ecs": 1}


def _i5(state: EndState) -> list[Violation]:
    went_live = sorted((v for v in state.versions if v.status in (LIVE, SUPERSEDED)), key=lambda v: v.seq)
    kept = {v.label for v in went_live[-KEPT_WENT_LIVE[state.platform] :]}
    if state.live_seq is not None:
        kept.add("api")
    found = []
    for kind, labels in sorted(state.resources.items()):
        for label in sorted(labels - kept):
            owner = "the API" if label == "api" else label
            found.append(Violation("I5", f"{kind} of {owner} left behind"))
    return found
