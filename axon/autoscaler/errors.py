"""Autoscaler errors, each with a stable code (recorded with the decision and printed by the CLI)."""

from __future__ import annotations

from axon.errors import AxonError


class AutoscalerError(AxonError):
    code = "autoscaler.error"


class StateConflictError(AutoscalerError):
    """Another run wrote this API's state since it was read; this run leaves the API alone."""

    code = "autoscaler.state_conflict"
