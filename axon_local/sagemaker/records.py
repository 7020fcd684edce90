"""What the emulator remembers about models, endpoint configs and endpoints (mutable, guarded by one lock)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from axon_local.sagemaker.ports import VariantSpec


@dataclass
class ModelRecord:
    name: str
    arn: str
    request: dict[str, Any]  # the CreateModel request as sent: DescribeModel echoes it
    creation_time: float


@dataclass
class ConfigRecord:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float


@dataclass
class StatusNote:
    """A ``VariantStatus`` entry: what the fleet is doing now (``Creating``, ``ActivatingTraffic``, ``Baking``...)."""

    status: str
    message: str
    start_time: float


@dataclass
class VariantState:
    spec: VariantSpec
    instance_type: str | None
    current_weight: float
    desired_weight: float
    desired_count: int
    current_count: int = 0


@dataclass
class FleetRecord:
    """The replicas of one endpoint config; blue (live) and green (pending) during an update."""

    fleet_id: str
    config_name: str
    variants: dict[str, VariantState]
    resolution_time: float
    note: StatusNote | None = None

    def weights(self) -> dict[str, float]:
        return {name: v.current_weight for name, v in self.variants.items()}


@dataclass
class PendingDeployment:
    config_name: str
    fleet: FleetRecord
    start_time: float
    # Share of the endpoint's traffic on the new fleet now (0 until the first step); DescribeEndpoint shows it
    # as the pending variants' CurrentWeight = DesiredWeight x share, the convention of axon's moto patch too.
    green_fraction: float = 0.0


@dataclass
class EndpointRecord:
    name: str
    arn: str
    config_name: str
    status: str
    creation_time: float
    last_modified: float
    live: FleetRecord | None = None
    pending: PendingDeployment | None = None
    failure_reason: str | None = None
    last_deployment_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    # Set by DeleteEndpoint: the running operation stops at its next wait and leaves cleanup to the delete.
    cancelled: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None
