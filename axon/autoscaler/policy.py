"""The autoscaler's knobs for one API: Cortex's fields from ``axon.yaml`` plus axon's own, with their defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass

from axon.spec import ApiSpec

# The fewest replicas the live autoscaler requests for a real-time API, whatever ``min_replicas`` says: its signals
# come from the replicas themselves, so at zero there is no signal left to scale back up on, and an API scaled to
# zero would stay dark. An async API may go to ``min_replicas: 0``: its backlog (SageMaker's
# ``HasBacklogWithoutCapacity`` and ``ApproximateBacklogSize``, or its SQS queue) is measured outside the replicas
# and scales it back up from zero.
LIVE_MIN_REPLICAS = 1

# Datapoint period of the in-flight metric (``Axon/InFlight`` at 10-second resolution, see axon/names.py).
DATAPOINT_SECONDS = 10
# Datapoint period of an async API's backlog (standard-resolution AWS metrics, names.ASYNC_BACKLOG_PERIOD_SECONDS).
BACKLOG_DATAPOINT_SECONDS = 60


@dataclass(frozen=True)
class Policy:
    """Everything :func:`axon.autoscaler.algorithm.decide` needs to know about one API, in plain numbers.

    The first block mirrors ``autoscaling`` in ``axon.yaml`` (Cortex's names and defaults); the second block
    is axon's own and is not user-facing yet. Durations are seconds, counts are replicas.

    Examples
    --------
    >>> Policy.from_spec(ApiSpec()).target_in_flight
    1.0
    """

    # --- from axon.yaml (Cortex) -------------------------------------------------------------------------------
    min_replicas: int = 1  # fewest replicas ever requested (replicas; default 1)
    max_replicas: int = 10  # most replicas ever requested for this API (replicas; default 10)
    init_replicas: int = 1  # replicas at creation (the platform uses it when it creates the API)
    target_in_flight: float = 1.0  # in-flight requests (running + queued) per replica to aim for (default
    # serving.max_concurrency, as in Cortex)
    window_seconds: int = 60  # averaging window of the stable signal (seconds; default 60, 6 datapoints)
    downscale_stabilization_seconds: int = 300  # scale in only to the highest recommendation of this window
    # (seconds; default 300)
    upscale_stabilization_seconds: int = 60  # scale out only to the lowest recommendation of this window
    # (seconds; default 60); panic mode bypasses it
    max_downscale_factor: float = 0.75  # one step keeps at least ceil(0.75 * current) (ratio; default 0.75)
    max_upscale_factor: float = 1.5  # one step adds at most to ceil(1.5 * current) (ratio; default 1.5)
    downscale_tolerance: float = 0.05  # ignore a drop smaller than 5% of current (ratio; default 0.05)
    upscale_tolerance: float = 0.05  # ignore a rise smaller than 5% of current (ratio; default 0.05)

    # --- axon's own ----------------------------------------------------------------------------------------------
    max_concurrency: int = 1  # requests one replica runs at once (serving.max_concurrency; default 1): more in
    # flight than ready x this means requests are queueing
    panic_threshold: float = 2.0  # enter panic when one 10-s datapoint asks for >= 2x the requested replicas
    # (ratio; default 2.0, Knative's panic-threshold-percentage 200)
    panic_max_upscale_factor: float = 4.0  # a panic step sized on in-flight alone goes at most to ceil(4 * ready)
    # (ratio; default 4): a saturated in-flight holds a queue, not a rate
    demand_max_upscale_factor: float = 25.0  # a step sized on arrivals x service time (demand.py) goes at most to
    # ceil(25 * max(requested, 2)) (ratio; default 25): the estimate is a rate, but one bad period must not buy a fleet
    backlog_drain_seconds: int = 60  # a demand estimate includes the queued requests' work spread over this long
    # (seconds; default 60, one decision interval)
    provisioning_seconds: int = 300  # request -> serving, until the API's own scale-outs have taught the scaler
    # (seconds; default 300, a GPU instance plus image and model); forecasts act this far ahead
    decision_interval_seconds: int = 60  # the schedule's period: capacity for the next interval is asked for now
    stale_after_seconds: int = 150  # newest datapoint older than this: hold the count (seconds; default 150 =
    # 60 s tick + 20 s metric lag + 70 s of slack for CloudWatch)
    provisioning_timeout_seconds: int = 900  # pending capacity older than this no longer counts as coming
    # (seconds; default 900, SageMaker's slowest GPU starts are ~9 minutes)

    @classmethod
    def from_spec(cls, spec: ApiSpec) -> Policy:
        """The policy of an API from its ``axon.yaml`` (target_in_flight and init_replicas resolved; a real-time
        API's ``min_replicas`` at least :data:`LIVE_MIN_REPLICAS`)."""
        auto = spec.autoscaling
        return cls(
            min_replicas=auto.min_replicas if spec.kind == "async" else max(auto.min_replicas, LIVE_MIN_REPLICAS),
            max_replicas=auto.max_replicas,
            init_replicas=spec.init_replicas,
            max_concurrency=spec.serving.max_concurrency,
            target_in_flight=spec.target_in_flight,
            window_seconds=auto.window_seconds,
            downscale_stabilization_seconds=auto.downscale_stabilization_seconds,
            upscale_stabilization_seconds=auto.upscale_stabilization_seconds,
            max_downscale_factor=auto.max_downscale_factor,
            max_upscale_factor=auto.max_upscale_factor,
            downscale_tolerance=auto.downscale_tolerance,
            upscale_tolerance=auto.upscale_tolerance,
        )

    @property
    def history_seconds(self) -> int:
        """How long recommendations are kept: the longer stabilization window."""
        return max(self.downscale_stabilization_seconds, self.upscale_stabilization_seconds)

    @property
    def lookback_seconds(self) -> int:
        """How far back a tick should read datapoints: one averaging window before the oldest unseen one."""
        return self.window_seconds + self.stale_after_seconds + DATAPOINT_SECONDS

    def clamp(self, replicas: int) -> int:
        """``replicas`` within ``[min_replicas, max_replicas]``."""
        return max(self.min_replicas, min(self.max_replicas, replicas))

    def replicas_for(self, in_flight: float) -> int:
        """Replicas that hold ``in_flight`` at the target: ``ceil(in_flight / target)``.

        A hair of float noise is dropped first so that 3 x 0.7 in flight at target 0.7 asks for 3, not 4.
        """
        return max(0, math.ceil(round(in_flight / self.target_in_flight, 9)))
