"""The Platform interface: what the rollout workflow and the autoscaler ask of SageMaker or ECS.

The workflow's Lambdas call only these methods, so a new platform plugs in without touching the workflow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from axon import names
from axon.errors import AxonError
from axon.spec import ApiSpec


class DeploymentPhase(StrEnum):
    """Where a deployment stands, in platform-neutral words."""

    IN_PROGRESS = "in_progress"  # creating fleets or shifting traffic
    SUCCEEDED = "succeeded"  # the new version takes all traffic
    ROLLED_BACK = "rolled_back"  # the platform put traffic back on the old version (alarm, failed health)
    FAILED = "failed"  # the new version never became reachable; nothing changed for clients


@dataclass(frozen=True)
class VersionRef:
    """A version as a platform sees it: enough to name and build its resources."""

    api: str
    label: str  # short readable label, e.g. "v3"
    spec: ApiSpec
    image_uri: str
    model_data_uri: str  # immutable S3 URI of the bundle for this version
    signal_key: str = ""  # the API's signal key (``names.SIGNAL_KEY_ENV``); "" for a version from before keys
    # The API's own IAM role (``axon.platforms.api_roles``) its replicas run as; set by ``IsolatedPlatform`` at
    # deploy time. Empty only where isolation is off (a deployment without the boundary policy).
    role_arn: str = ""

    def replica_environment(self) -> dict[str, str]:
        """What every replica of this version is told, on either platform (read by ``axon_serving``)."""
        environment = {"AXON_API": self.api, "AXON_VARIANT": names.VARIANT_NAME, "AXON_VERSION": self.label}
        if self.signal_key:
            environment[names.SIGNAL_KEY_ENV] = self.signal_key
        return environment


@dataclass(frozen=True)
class DeploymentStatus:
    phase: DeploymentPhase
    new_version_percent: int  # traffic share of the version being rolled out, 0-100
    reachable: bool = False  # a request can reach the new version now (the smoke test may run)
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    reason_code: str = ""  # a FAILED deployment's stable code (``AxonError.code``), when the platform knows one

    @classmethod
    def failure(cls, error: AxonError) -> DeploymentStatus:
        """FAILED with the error's code and message: nothing reached the new version, the live one is untouched."""
        return cls(DeploymentPhase.FAILED, 0, message=error.message, reason_code=error.code)


@dataclass(frozen=True)
class Capacity:
    """Replica counts of the variant serving an API, and whether the platform accepts a change now.

    The autoscaler's words: AWS's desired count (SageMaker's ``DesiredInstanceCount``, ECS's ``desiredCount``) is
    ``requested``, its current or running count (``CurrentInstanceCount``, ``runningCount``) is ``ready``.
    """

    variant: str
    requested: int  # replicas asked for, starting ones included
    ready: int  # replicas serving traffic
    can_change: bool  # SageMaker refuses capacity changes unless the endpoint is InService
    status: str = ""


@dataclass(frozen=True)
class ReplicaSet:
    """The replicas of one version of an API (``axon get`` tells up-to-date ones from stale ones by ``version``)."""

    version: str  # the version label the replicas run ("v3"); "" when the platform cannot tell
    requested: int
    ready: int


class Platform(ABC):
    """One implementation per compute platform (``compute.platform`` in ``axon.yaml``)."""

    name: str

    @abstractmethod
    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Create the version's resources and start sending it traffic per ``version.spec.rollout``."""

    @abstractmethod
    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        """Progress of the deployment started by :meth:`deploy`."""

    @abstractmethod
    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Put all traffic back on ``previous`` (or take the API down when there is none)."""

    @abstractmethod
    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        """After the commit point (``version`` is live): release what ``previous`` still holds. Idempotent.

        Until then ``previous`` must stay restorable, so that :meth:`rollback` can always put traffic back.
        """

    @abstractmethod
    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        """Send one request to ``version`` as early as the platform allows; raise on a bad answer."""

    @abstractmethod
    def remove_version(self, version: VersionRef) -> None:
        """Delete what was created for ``version`` (it takes no traffic). Idempotent."""

    @abstractmethod
    def capacity(self, api: str) -> Capacity | None:
        """Current replicas of the live variant; ``None`` when the API has nothing deployed."""

    def replica_sets(self, api: str) -> list[ReplicaSet] | None:
        """Every fleet of the API that exists now, one per version (newest first where the platform knows);
        ``None`` when the platform cannot split its replicas by version. Read by ``axon get`` only."""
        return None

    @abstractmethod
    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        """Set the live variant's requested replicas (autoscaler)."""

    @abstractmethod
    def delete_api(self, api: str) -> None:
        """Remove the API's endpoint or service and everything attached to it. Idempotent."""
