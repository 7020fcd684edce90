"""The state that flows through ``statemachines/rollout.asl.json``, how a rollout ends, and the errors that end it.

Every Lambda takes the one :class:`RolloutState` and returns it: one model for the whole workflow keeps the ASL
simple (no per-state Parameters) and makes every state's input and output a golden JSON the tests can pin. The
error classes have stable codes, and the Step Functions Catch sees the class name as the error type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from axon.errors import AxonError
from axon.registry import Reason, VersionStatus

BuildStatus = Literal["NONE", "IN_PROGRESS", "SUCCEEDED", "FAILED"]
DeploymentPhaseName = Literal["in_progress", "succeeded", "rolled_back", "failed"]


class CaughtError(BaseModel):
    """What a Step Functions Catch puts at ``$.error``: the error name and its cause (a JSON string for Lambdas)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    error: str = Field(alias="Error")
    cause: str = Field("", alias="Cause")


class RolloutState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    api: str
    seq: int = Field(ge=1)
    execution: str  # execution name: the owner of the API's rollout lease
    build_id: str | None = None
    build_status: BuildStatus = "NONE"
    phase: DeploymentPhaseName | None = None
    new_percent: int = 0
    smoke_due: bool = False
    smoke_done: bool = False
    live: bool = False  # past the commit point: the API points at this version
    error: CaughtError | None = None

    def out(self) -> dict[str, object]:
        """The JSON a handler returns to Step Functions."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class Outcome:
    """How a rollout ended, for the handler's metrics."""

    status: VersionStatus
    duration_seconds: float
    reason: Reason | None = None


class RolloutError(AxonError):
    code = "rollout.error"


class ImageBuildFailedError(RolloutError):
    code = "image.build_failed"


class StaleRolloutError(RolloutError):
    """The execution no longer holds the API's lease (it expired and another rollout took it)."""

    code = "rollout.lease_lost"
