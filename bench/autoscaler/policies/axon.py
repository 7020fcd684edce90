"""``axon``: the production algorithm, :func:`axon.autoscaler.algorithm.decide`, called exactly as tick.py does."""

from __future__ import annotations

from axon.autoscaler.algorithm import Observation, decide
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from bench.autoscaler.engine import View


class Axon:
    name = "axon"
    tick_seconds = 60  # the EventBridge schedule

    def __init__(self, policy: Policy):
        self.policy = policy
        self.state = ScalerState()

    def step(self, view: View) -> int:
        since = view.now - self.policy.lookback_seconds
        obs = Observation(
            points=tuple(view.datapoints(since=since)),
            ready=view.ready,
            requested=view.requested,
            can_change=view.can_change,
            request_points=tuple(view.request_points(since=since)),
        )
        decision, self.state = decide(self.policy, self.state, obs, float(view.now))
        return decision.desired
