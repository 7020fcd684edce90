"""Patch 4: moto's SageMaker answers models, endpoint configs and endpoints with the local SageMaker emulator.

Gap: moto's UpdateEndpoint raises ``NotImplementedError``, its CreateEndpoint is ``InService`` at once, its
UpdateEndpointWeightsAndCapacities drops what the request leaves out, and its instance types stop at g4dn/inf1/p3.
Fix: every operation :class:`~axon_local.sagemaker.SageMakerEmulator` implements is handed to it through
:class:`~axon_local.sagemaker.SageMakerProtocol`, the very code the local stack serves: requests validated against
botocore's service model, blue/green UpdateEndpoint with traffic steps, bakes and alarm rollbacks. In-process its
ports are a :class:`~axon_local.sagemaker.MemoryFleet` (no processes; tests shape launches through
:func:`sagemaker_fleet`), moto's own CloudWatch alarms (a test sets an alarm to ``ALARM`` as AWS would) and a
clock whose waits last ``seconds * wait_scale``, as Step Functions' do. Every other SageMaker operation stays moto's.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from axon_local.patches import _registry
from axon_local.sagemaker import MemoryFleet, SageMakerApiError, SageMakerEmulator, SageMakerProtocol, SystemClock


class MotoAlarms:
    """The emulator's ``AlarmSource`` over moto's CloudWatch backend of the endpoint's account and region."""

    def __init__(self, account: str, region: str) -> None:
        self._account = account
        self._region = region

    def firing(self, alarm_names: Sequence[str]) -> list[str]:
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[self._account][self._region].alarms
        return [name for name in alarm_names if getattr(alarms.get(name), "state_value", None) == "ALARM"]


@dataclass
class _InProcess:
    """The emulators of one installation: one per moto SageMaker backend (so per account, region and reset)."""

    clock: SystemClock
    fleet: MemoryFleet
    emulators: weakref.WeakKeyDictionary[Any, SageMakerProtocol] = field(default_factory=weakref.WeakKeyDictionary)


_lock = threading.Lock()
_state: _InProcess | None = None


def apply() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    global _state
    scale = _registry.options.wait_scale
    clock = SystemClock(1 / scale if scale > 0 else math.inf)
    with _lock:
        _state = _InProcess(clock, MemoryFleet(clock))
    _registry.patch(SageMakerResponse, "call_action", _call_action)


def reset() -> None:
    """Stop every emulator of the installation: held launches released, running operations cancelled."""
    global _state
    with _lock:
        state, _state = _state, None
    if state is None:
        return
    state.fleet.release()
    state.clock.close()
    for protocol in list(state.emulators.values()):
        protocol.emulator.close()


def sagemaker_fleet() -> MemoryFleet:
    """The in-memory fleet behind every endpoint while the patches are installed (test control)."""
    if _state is None:
        raise RuntimeError("moto patches are not installed")
    return _state.fleet


def _protocol(backend: Any) -> SageMakerProtocol:
    with _lock:
        if _state is None:
            raise RuntimeError("moto patches are not installed")
        protocol = _state.emulators.get(backend)
        if protocol is None:
            account, region = backend.account_id, backend.region_name
            emulator = SageMakerEmulator(
                _state.fleet, MotoAlarms(account, region), _state.clock, region=region, account=account
            )
            protocol = _state.emulators[backend] = SageMakerProtocol(emulator)
        return protocol


def endpoint_status(account: str, region: str, name: str) -> str | None:
    """The emulated endpoint's ``EndpointStatus``, or ``None`` when it does not exist (for sagemaker-runtime)."""
    from moto.sagemaker.models import sagemaker_backends

    try:
        described = _protocol(sagemaker_backends[account][region]).emulator.call(
            "DescribeEndpoint", {"EndpointName": name}
        )
    except SageMakerApiError:
        return None
    return str(described["EndpointStatus"])


def _call_action(self: Any) -> Any:
    """``SageMakerResponse.call_action``: an emulated operation goes to the emulator, any other to moto."""
    target = self.headers.get("X-Amz-Target")
    protocol = _protocol(self.sagemaker_backend)
    if not protocol.handles(target):
        from moto.sagemaker.responses import SageMakerResponse

        return _registry.original(SageMakerResponse, "call_action")(self)
    body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode()
    answer = protocol.handle(target, body)
    return answer.status, answer.headers, answer.body
