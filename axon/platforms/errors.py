"""Platform errors, with stable codes the registry records."""

from __future__ import annotations

from axon.errors import AxonError


class PlatformError(AxonError):
    code = "platform.error"


class SmokeTestFailedError(PlatformError):
    code = "smoke_test.failed"


class CapacityUnavailableError(PlatformError):
    code = "platform.capacity_unavailable"
