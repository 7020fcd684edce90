"""Rollout errors with stable codes (the Step Functions Catch sees the class name as the error type)."""

from __future__ import annotations

from axon.errors import AxonError


class RolloutError(AxonError):
    code = "rollout.error"


class ImageBuildFailedError(RolloutError):
    code = "image.build_failed"


class StaleRolloutError(RolloutError):
    """The execution no longer holds the API's lease (it expired and another rollout took it)."""

    code = "rollout.lease_lost"
