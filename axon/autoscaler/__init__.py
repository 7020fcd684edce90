"""Concurrency autoscaler: a pure decision (``algorithm``) behind two ports (metrics, state), run by ``tick``."""

from axon.autoscaler.algorithm import Action, Decision, DecisionReason, Observation, decide
from axon.autoscaler.metrics import MetricSource, SeriesKey, Signals
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, InMemoryScalerStateStore, ScalerStateStore, StoredState
from axon.autoscaler.tick import LiveApi, TickSettings, TickSummary, tick

__all__ = [
    "Action",
    "Decision",
    "DecisionReason",
    "DecisionRecord",
    "InMemoryScalerStateStore",
    "LiveApi",
    "MetricSource",
    "Observation",
    "Policy",
    "ScalerState",
    "ScalerStateStore",
    "SeriesKey",
    "Signals",
    "StoredState",
    "TickSettings",
    "TickSummary",
    "decide",
    "tick",
]
