"""``python -m bench.autoscaler --trace FILE.csv [--policy NAME ...] [--stretch K] --json``; ``--shape NAME [--seeds N]``
runs a synthetic shape with seeds 1..N and reports each metric's mean and range; ``--results`` rewrites RESULTS.md
(both shared traces and every synthetic shape, with plots, issue 12's targets and the sensitivity table);
``--sensitivity`` prints only that table."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.autoscaler.engine import WARM_COST_RATIO, SimConfig
from bench.autoscaler.policies import POLICIES
from bench.autoscaler.run import CHOICES, DEFAULT_SEEDS, run, run_seeds, summarize
from bench.autoscaler.workload import SYNTHETIC, load_trace, synthetic


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.autoscaler", description=__doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--trace", type=Path, help="CSV with a TIMESTAMP column, one row per request")
    source.add_argument("--shape", choices=sorted(SYNTHETIC), help="a synthetic load shape instead of a trace")
    source.add_argument("--results", "--all", action="store_true", help="regenerate RESULTS.md and its plots")
    source.add_argument(
        "--sensitivity",
        action="store_true",
        help="axon, the best baseline and the delayed oracle over provisioning 60-480 s x SLO 0.5-2 s (also in --results)",
    )
    p.add_argument(
        "--policy",
        action="append",
        choices=CHOICES,
        help=f"repeatable; default: {', '.join(POLICIES)} (also: {', '.join(c for c in CHOICES if c not in POLICIES)})",
    )
    p.add_argument("--stretch", type=float, default=1.0, help="replay at 1/K speed (timestamps x K)")
    p.add_argument("--slo", type=float, default=1.0, help="queueing delay allowed, seconds")
    p.add_argument("--provisioning", type=int, default=240, help="seconds from request to serving")
    p.add_argument("--lag", type=int, default=20, help="metric publication lag, seconds")
    p.add_argument("--max-concurrency", type=int, default=1, help="slots per replica")
    p.add_argument("--target-utilization", type=float, default=0.7, help="target in-flight per slot")
    p.add_argument(
        "--warm-pool",
        type=int,
        default=0,
        help="instances kept warm (stopped, image pulled; an ASG warm pool) for every policy (default 0); "
        "axon+warm gets the peak need when this is 0",
    )
    p.add_argument(
        "--warm-provisioning", type=int, default=60, help="seconds from request to serving for a warm instance"
    )
    p.add_argument(
        "--warm-cost-ratio",
        type=float,
        default=WARM_COST_RATIO,
        help=f"a warm instance's cost per second relative to a running one (default {WARM_COST_RATIO:g})",
    )
    p.add_argument("--busy-while-provisioning", action="store_true", help="SageMaker-like: no change while starting")
    p.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"synthetic shapes: run seeds 1..N and report mean and [low, high] (default {DEFAULT_SEEDS}); "
        "a trace is replayed once",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per policy")
    p.add_argument(
        "--processes", type=int, default=None, help="--results/--sensitivity: worker processes (default: every CPU)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.warm_pool < 0 or args.warm_provisioning < 0 or args.warm_cost_ratio < 0:
        parser.error("--warm-pool, --warm-provisioning and --warm-cost-ratio must not be negative")
    cfg = SimConfig(
        max_concurrency=args.max_concurrency,
        target_utilization=args.target_utilization,
        provisioning_seconds=args.provisioning,
        metric_lag_seconds=args.lag,
        slo_seconds=args.slo,
        busy_while_provisioning=args.busy_while_provisioning,
        warm_pool=args.warm_pool,
        warm_provisioning_seconds=args.warm_provisioning,
        warm_cost_ratio=args.warm_cost_ratio,
    )
    if args.results:
        from bench.autoscaler.report import write_results

        started = time.perf_counter()
        path = write_results(cfg, seeds=args.seeds, processes=args.processes)
        print(f"wrote {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return 0
    if args.sensitivity:
        from bench.autoscaler.report import sensitivity, sensitivity_section

        grid = sensitivity(cfg, processes=args.processes)
        print(
            json.dumps([row.as_json() for row in grid], indent=2) if args.json else "\n".join(sensitivity_section(grid))
        )
        return 0
    names = list(args.policy or POLICIES)
    if args.trace:
        per_seed = [run(load_trace(args.trace, args.stretch), names, cfg)]
    else:
        seeds = range(1, args.seeds + 1)
        per_seed = run_seeds(lambda seed: synthetic(args.shape, args.stretch, seed), seeds, names, cfg)
    rows = [s.as_json() for s in summarize(per_seed)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
