"""Local SageMaker control plane: model, endpoint-config and endpoint APIs with AWS's rollout semantics."""

from axon_local.sagemaker.alarms import CloudWatchAlarms
from axon_local.sagemaker.clock import CancelledError, Clock, ManualClock, SystemClock
from axon_local.sagemaker.emulator import SageMakerEmulator
from axon_local.sagemaker.errors import SageMakerApiError
from axon_local.sagemaker.memory import MemoryFleet
from axon_local.sagemaker.ports import AlarmSource, Fleet, FleetError, FleetShare, VariantSpec
from axon_local.sagemaker.protocol import Response, SageMakerProtocol

__all__ = [
    "AlarmSource",
    "CancelledError",
    "Clock",
    "CloudWatchAlarms",
    "Fleet",
    "FleetError",
    "FleetShare",
    "ManualClock",
    "MemoryFleet",
    "Response",
    "SageMakerApiError",
    "SageMakerEmulator",
    "SageMakerProtocol",
    "SystemClock",
    "VariantSpec",
]
