"""Local data plane: replica processes per variant, the weighted router, request statistics and metrics."""

from axon.local.dataplane.bundles import BundleCache
from axon.local.dataplane.fleet import FleetTimeouts, LocalFleet, ServeCommand, api_of, axon_serve_command
from axon.local.dataplane.publisher import InFlightPublisher
from axon.local.dataplane.router import Router
from axon.local.dataplane.runtime import InvokeRequest, InvokeResponse, RuntimeService
from axon.local.dataplane.stats import StatsBook, VariantStats

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
