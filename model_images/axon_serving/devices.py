"""Worker planning: CPU predictors get ``--workers`` processes; GPU predictors one process per device.

Each GPU worker sees exactly one device (``CUDA_VISIBLE_DEVICES``, set before the predictor imports
torch), so each holds one copy of the model and a predictor simply uses ``cuda:0`` (``device()``).
Devices are counted without initialising CUDA in the parent: a CUDA context does not survive ``fork``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NVIDIA_PROC = Path("/proc/driver/nvidia/gpus")
DEVICE_ENV = "AXON_DEVICE"
WORKER_ENV = "AXON_WORKER"


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    index: int
    env: dict[str, str] = field(default_factory=dict)


def visible_gpus(env: Mapping[str, str], proc: Path = NVIDIA_PROC) -> list[str]:
    """Device ids this process may use: ``CUDA_VISIBLE_DEVICES`` when set, else the driver's GPU list."""
    declared = env.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        ids = [part.strip() for part in declared.split(",") if part.strip()]
        return [] if ids[:1] == ["-1"] else ids
    if proc.is_dir():
        return [str(index) for index in range(sum(1 for _ in proc.iterdir()))]
    return []


def plan_workers(workers: int, gpus: int, visible: list[str]) -> list[WorkerPlan]:
    """One plan per process to start; ``gpus`` is ``compute.gpu`` from the spec."""
    if gpus > 0 and visible:
        return [
            WorkerPlan(index, {"CUDA_VISIBLE_DEVICES": device, DEVICE_ENV: "cuda:0", WORKER_ENV: str(index)})
            for index, device in enumerate(visible)
        ]
    return [WorkerPlan(index, {DEVICE_ENV: "cpu", WORKER_ENV: str(index)}) for index in range(workers)]


def device() -> str:
    """The device a predictor should put its model on: ``"cuda:0"`` in a GPU worker, else ``"cpu"``.

    Examples
    --------
    >>> import torch, axon_serving                                  # doctest: +SKIP
    >>> model = model.to(torch.device(axon_serving.device()))       # doctest: +SKIP
    """
    return os.environ.get(DEVICE_ENV, "cpu")
