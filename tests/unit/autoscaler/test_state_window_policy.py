"""State persistence shape, window statistics, policy from the spec, and the documented defaults."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import yaml

from axon.autoscaler.algorithm import Observation, decide
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import LastAction, Provisioning, ScalerState
from axon.autoscaler.window import window_max, window_mean, window_min
from axon.spec import load_spec_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "autoscaler.md"


def test_state_round_trips_through_json() -> None:
    state = ScalerState(
        started_at=1.0,
        last_point_at=50.0,
        recommendations=((40.0, 3, 5), (50.0, 4, 4)),
        panic_since=40.0,
        last_panic_at=40.0,
        provisioning=Provisioning(replicas=6, since=55.0),
        last_action=LastAction(at=55.0, previous=4, desired=6, reason="panic"),
    )
    assert ScalerState.loads(state.dumps()) == state
    assert ScalerState.loads(ScalerState().dumps()) == ScalerState()


def test_state_of_an_unknown_format_reads_as_fresh() -> None:
    assert ScalerState.from_json({"format": 99, "started_at": 5}) == ScalerState()


def test_windows_are_half_open_and_skip_missing_points() -> None:
    points = [(0.0, 1.0), (10.0, 5.0), (20.0, 3.0), (30.0, 2.0)]
    assert window_max(points, 30.0, 20.0) == 3.0  # (10, 30]: 20 and 30
    assert window_min(points, 30.0, 30.0) == 2.0
    assert window_mean(points, 30.0, 30.0) == (5.0 + 3.0 + 2.0) / 3
    assert window_mean(points, 100.0, 10.0) is None


def test_policy_from_spec_resolves_target_and_init() -> None:
    spec = load_spec_text("serving: {max_concurrency: 4}\nautoscaling: {min_replicas: 2, max_replicas: 7}")
    policy = Policy.from_spec(spec)
    assert (policy.target_in_flight, policy.max_concurrency) == (4.0, 4)
    assert (policy.min_replicas, policy.max_replicas, policy.init_replicas) == (2, 7, 2)


def test_policy_defaults_equal_the_spec_defaults() -> None:
    assert Policy.from_spec(load_spec_text(None)) == Policy()


def test_documented_defaults_equal_the_codes() -> None:
    """docs/autoscaler.md's ``policy-defaults`` YAML block lists every Policy field with its default."""
    match = re.search(r"```yaml\n# policy-defaults\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/autoscaler.md lost its policy-defaults block"
    documented = yaml.safe_load(match.group(1))
    assert documented == {f.name: getattr(Policy(), f.name) for f in fields(Policy)}


def test_min_replicas_zero_keeps_one_replica_live() -> None:
    """At zero no replica publishes a signal, so nothing could scale the API back up: the floor is one."""
    spec = load_spec_text("autoscaling: {min_replicas: 0, max_replicas: 4}")
    policy = Policy.from_spec(spec)
    assert policy.min_replicas == 1
    state, requested, seen = ScalerState(), 2, []
    for minute in range(15):  # an idle API, a minute of zero-load datapoints at a time
        idle = tuple((60.0 * minute + t, 0.0) for t in range(0, 60, 10))
        decision, state = decide(policy, state, Observation(idle, requested, requested), 60.0 * minute + 80)
        requested = decision.desired
        seen.append(requested)
    assert min(seen) == requested == 1
