"""Concurrency autoscaler: a pure decision (``algorithm``) behind two ports (metrics, state), run by ``tick``."""

from axon.autoscaler.algorithm import Action, Decision, Observation, Reason, decide
from axon.autoscaler.metrics import MetricSource, SeriesKey
from axon.autoscaler.policy import Policy
from axon.autoscaler.state import ScalerState
from axon.autoscaler.store import DecisionRecord, InMemoryScalerStateStore, ScalerStateStore, StoredState
from axon.autoscaler.tick import LiveApi, TickSettings, TickSummary, tick

__all__ = [
    "Action",
    "Decision",
    "DecisionRecord",
    "InMemoryScalerStateStore",
    "LiveApi",
    "MetricSource",
    "Observation",
    "Policy",
    "Reason",
    "ScalerState",
    "ScalerStateStore",
    "SeriesKey",
    "StoredState",
    "TickSettings",
    "TickSummary",
    "decide",
    "tick",
]
