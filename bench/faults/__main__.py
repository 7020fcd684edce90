"""``python -m bench.faults [--json] [--sample] [--platform P] [--scenario S] [--fault F] [--jobs N] [--results]``.

Records each scenario's clean rollout, then re-runs it once per call site and fault (``--sample``: once per call
site, faults rotated) and checks the invariants after every run. Without ``--json``: a table call site x fault ->
outcome and a summary; ``--results`` also rewrites ``bench/faults/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import multiprocessing
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from bench.faults.matrix import FAULTS, Entry, Runner, entry, injections, run_chunk, sample
from bench.faults.model import CallSite, Fault, Injection
from bench.faults.report import Matrix, summary, table, write_results
from bench.faults.scenario import ALL_SCENARIOS, KINDS, PLATFORMS, STRATEGIES, Scenario
from bench.faults.world import open_world

RUNS_PER_WORLD = 8  # a fresh moto account after this many runs: each run slows the later ones (table scans)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--sample", action="store_true", help="every call site once, faults rotated (what the tests run)")
    p.add_argument("--platform", action="append", choices=PLATFORMS, help="repeatable; default: both")
    p.add_argument("--kind", action="append", choices=KINDS, help="first deploy or update; repeatable")
    p.add_argument("--strategy", action="append", choices=STRATEGIES, help="repeatable; default: all")
    p.add_argument("--scenario", action="append", type=Scenario.parse, help="platform/kind/strategy; repeatable")
    p.add_argument("--fault", action="append", type=Fault, choices=list(Fault), help="repeatable; default: all")
    p.add_argument("--limit", type=int, default=0, help="at most this many injections per scenario (quick looks)")
    p.add_argument("--jobs", type=int, default=1, help="scenario chunks run in this many processes")
    p.add_argument("--results", action="store_true", help="rewrite bench/faults/RESULTS.md")
    return p


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    if args.scenario:
        return list(args.scenario)
    return [
        s
        for s in ALL_SCENARIOS
        if s.platform in (args.platform or PLATFORMS)
        and s.kind in (args.kind or KINDS)
        and s.strategy in (args.strategy or STRATEGIES)
    ]


def _catalog(scenarios: Sequence[Scenario]) -> tuple[dict[str, list[CallSite]], list[Entry]]:
    """Each scenario's clean run: its call sites, and its own violations (a fault-free rollout must pass too)."""
    sites: dict[str, list[CallSite]] = {}
    clean = []
    for start in range(0, len(scenarios), RUNS_PER_WORLD):
        with open_world() as world:
            runner = Runner(world, prefix="c")
            for scenario in scenarios[start : start + RUNS_PER_WORLD]:
                result, sites[scenario.name] = runner.record(scenario)
                clean.append(entry(result))
    return sites, clean


Chunk = tuple[Scenario, list[Injection]]  # injections run in one fresh moto account


def _plan(args: argparse.Namespace, scenarios: Sequence[Scenario], sites: dict[str, list[CallSite]]) -> list[Chunk]:
    if args.sample:
        planned = sample([(s, sites[s.name]) for s in scenarios])
        by_scenario = {s.name: [i for owner, i in planned if owner == s] for s in scenarios}
    else:
        by_scenario = {s.name: injections(sites[s.name], args.fault or FAULTS) for s in scenarios}
    chunks = []
    for scenario in scenarios:
        chosen = [i for i in by_scenario[scenario.name] if not args.fault or i.fault in args.fault]
        chosen = chosen[: args.limit] if args.limit else chosen
        chunks += [(scenario, chosen[n : n + RUNS_PER_WORLD]) for n in range(0, len(chosen), RUNS_PER_WORLD)]
    return chunks


def _run(chunks: Sequence[Chunk], jobs: int, crashed: list[str]) -> Iterator[list[Entry]]:
    """Each chunk's entries, in order; chunks run in ``jobs`` spawned processes (moto is process-wide: no fork).

    A chunk whose harness crashed is named in ``crashed`` and yields nothing; the others' results are kept.
    """
    if jobs <= 1:
        for scenario, planned in chunks:
            yield _guarded(functools.partial(run_chunk, scenario, planned), scenario, crashed)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [(scenario, pool.submit(run_chunk, scenario, planned)) for scenario, planned in chunks]
        for scenario, future in futures:
            yield _guarded(future.result, scenario, crashed)


def _guarded(run: Callable[[], list[Entry]], scenario: Scenario, crashed: list[str]) -> list[Entry]:
    try:
        return run()
    except Exception as exc:  # the harness's own failure: report it, keep the other chunks
        crashed.append(f"{scenario.name}: {type(exc).__name__}: {exc}")
        print(f"harness crash in a chunk of {scenario.name}: {exc!r}", file=sys.stderr)
        return []


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.disable(logging.CRITICAL)
    started = time.monotonic()
    scenarios = _scenarios(args)
    sites, clean = _catalog(scenarios)
    chunks = _plan(args, scenarios, sites)
    matrix = Matrix(sorted({s.platform for s in scenarios}), [s.name for s in scenarios], sites, list(clean))
    crashed: list[str] = []
    for entries in _run(chunks, args.jobs, crashed):
        matrix.entries += entries
        print(f"{len(matrix.injections)} injections of {sum(len(c) for _, c in chunks)} run", file=sys.stderr)
    if args.json:
        print(json.dumps(matrix.as_json(), indent=2))
    else:
        print(table(matrix))
        print(summary(matrix))
    if args.results:
        command = "python -m bench.faults " + shlex.join(argv if argv is not None else sys.argv[1:])
        print(f"wrote {write_results(matrix, command, time.monotonic() - started)}", file=sys.stderr)
    for crash in crashed:
        print(f"not run (harness crash): {crash}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
