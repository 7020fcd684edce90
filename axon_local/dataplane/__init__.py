"""Local data plane: replica processes per variant, the weighted router, request statistics and metrics."""

from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.fleet import FleetTimeouts, LocalFleet, ServeCommand, api_of, axon_serve_command
from axon_local.dataplane.publisher import InFlightPublisher
from axon_local.dataplane.router import Router
from axon_local.dataplane.runtime import InvokeRequest, InvokeResponse, RuntimeService
from axon_local.dataplane.stats import StatsBook, VariantStats

__all__ = [
    "BundleCache",
    "FleetTimeouts",
    "InFlightPublisher",
    "InvokeRequest",
    "InvokeResponse",
    "LocalFleet",
    "Router",
    "RuntimeService",
    "ServeCommand",
    "StatsBook",
    "VariantStats",
    "api_of",
    "axon_serve_command",
]
