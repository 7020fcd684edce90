"""``python -m bench.serving [--json]``: every scenario in one run, then bench/serving/RESULTS.md.

(a) a trivial predictor on axon-serve, LitServe, a raw ASGI app and a starlette app (uvicorn, uvloop,
httptools), wrk at fixed connections; (b) a predictor serialising on one device at a fixed cost per call,
unbatched vs batched; (c) the torch GPU model when torch sees CUDA.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bench.serving import targets
from bench.serving.report import machine, render
from bench.serving.wrk import Load, run_wrk

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DEVICE_COST_MS = 10
BATCH_SIZE = 32


def _best(server: AbstractContextManager[str], body: str, connections: int, seconds: int, repeat: int) -> Load:
    """Best of ``repeat`` runs after a short warm-up: the least disturbed by neighbours on a shared box."""
    with server as url:
        run_wrk(url, body, connections, 2)
        return max(
            (run_wrk(url, body, connections, seconds) for _ in range(repeat)), key=lambda load: load.requests_per_second
        )


def trivial(connections: int, seconds: int, repeat: int) -> dict[str, dict[str, Any]]:
    servers: dict[str, Callable[[], AbstractContextManager[str]]] = {
        "axon": lambda: targets.axon("trivial"),
        "raw_uvicorn": lambda: targets.script("baseline_raw"),
        "starlette": lambda: targets.script("baseline_starlette"),
        "litserve": lambda: targets.script("litserve_app"),
    }
    return {
        name: dataclasses.asdict(_best(start(), targets.BODY, connections, seconds, repeat))
        for name, start in servers.items()
    }


def single_connection(seconds: int, repeat: int) -> dict[str, dict[str, Any]]:
    return {
        "axon": dataclasses.asdict(_best(targets.axon("trivial"), targets.BODY, 1, seconds, repeat)),
        "raw_uvicorn": dataclasses.asdict(_best(targets.script("baseline_raw"), targets.BODY, 1, seconds, repeat)),
    }


def batching(seconds: int, repeat: int) -> dict[str, Any]:
    connections = 2 * BATCH_SIZE
    config = {"predictor": {"config": {"cost_seconds": DEVICE_COST_MS / 1000}}}
    modes = {
        "unbatched": {"serving": {"max_queue_length": 1000}},
        "batched": {"serving": {"max_queue_length": 1000, "max_batch_size": BATCH_SIZE}},
    }
    out: dict[str, Any] = {"cost_ms": DEVICE_COST_MS, "connections": connections, "max_batch_size": BATCH_SIZE}
    for mode, spec in modes.items():
        load = _best(targets.axon("device", {**config, **spec}), targets.BODY, connections, seconds, repeat)
        out[mode] = dataclasses.asdict(load)
    return out


def gpu(seconds: int, repeat: int) -> str:
    try:
        torch: Any = importlib.import_module("torch")
    except ImportError:
        return "GPU figures not yet measured: torch is not installed on this machine and no GPU was at hand."
    if not torch.cuda.is_available():
        return "GPU figures not yet measured: torch sees no CUDA device on this machine."
    body = json.dumps({"x": [0.5] * 512})
    rows = []
    for mode, size in (("unbatched", 1), ("batched", BATCH_SIZE)):
        spec = {
            "compute": {"gpu": 1, "instance_type": "ml.g5.xlarge"},
            "serving": {"max_batch_size": size, "max_queue_length": 1000},
        }
        load = _best(targets.axon("torch_mlp", spec), body, 2 * BATCH_SIZE, seconds, repeat)
        rows.append(f"| {mode} | {load.requests_per_second:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} |")
    header = f"torch MLP on {torch.cuda.get_device_name(0)}:\n\n| mode | requests/s | p50 ms | p99 ms |\n|---|---:|---:|---:|"
    return "\n".join([header, *rows])


def targets_met(results: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = results["trivial"], results["batching"]
    rps = {name: load["requests_per_second"] for name, load in a.items()}
    checks = [
        ("axon / LitServe requests/s", rps["axon"] / rps["litserve"], 5.0, True),
        ("axon / hand-written raw uvicorn requests/s", rps["axon"] / rps["raw_uvicorn"], 0.8, True),
        ("axon / starlette requests/s", rps["axon"] / rps["starlette"], 0.8, True),
        ("server-added p50 ms (1 connection)", results["single_connection"]["axon"]["p50_ms"], 1.0, False),
        (
            "batched / unbatched requests/s",
            b["batched"]["requests_per_second"] / b["unbatched"]["requests_per_second"],
            10.0,
            True,
        ),
    ]
    return [
        {"name": name, "value": value, "target": target, "met": value >= target if higher else value < target}
        for name, value, target, higher in checks
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serving")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {"seconds": args.seconds, "connections": args.connections, "repeat": args.repeat},
        "trivial": trivial(args.connections, args.seconds, args.repeat),
        "single_connection": single_connection(args.seconds, args.repeat),
        "batching": batching(args.seconds, args.repeat),
        "gpu": gpu(args.seconds, args.repeat),
    }
    results["targets"] = targets_met(results)
    RESULTS.write_text(render(results))
    print(json.dumps(results, indent=2) if args.json else render(results), file=sys.stdout)


if __name__ == "__main__":
    main()
