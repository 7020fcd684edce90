"""Which injections to run: the full matrix (every call site x every fault) or a sample (every call site once).

``twice`` is a fault of a whole invocation, so it is injected once per (function, invocation), at the first call
site recorded in that invocation. The sample walks the scenarios in order, gives each call site (keyed without its
scenario) to the first scenario that makes it, and rotates the faults across the sites, so each fault lands on
about a quarter of the sites and every site is hit once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from bench.faults.model import CallSite, Fault, Injection, Violation
from bench.faults.scenario import RunResult, Scenario, call_sites, run
from bench.faults.world import World, open_world

FAULTS: tuple[Fault, ...] = tuple(Fault)


def injections(sites: Sequence[CallSite], faults: Iterable[Fault] = FAULTS) -> list[Injection]:
    """Every site with every fault; ``twice`` once per invocation."""
    chosen = list(faults)
    planned = []
    invocations: set[tuple[str, int]] = set()
    for site in sites:
        for fault in chosen:
            if fault is Fault.TWICE:
                if (site.function, site.invocation) in invocations:
                    continue
                invocations.add((site.function, site.invocation))
            planned.append(Injection(site, fault))
    return planned


def sample(catalog: Sequence[tuple[Scenario, Sequence[CallSite]]]) -> list[tuple[Scenario, Injection]]:
    """Every call site key once, in the first scenario that makes it, faults rotated across sites."""
    seen: set[tuple[str, str, str, int]] = set()
    rotation = itertools.cycle(FAULTS)
    planned = []
    for scenario, sites in catalog:
        for site in sites:
            if site.key not in seen:
                seen.add(site.key)
                planned.append((scenario, Injection(site, next(rotation))))
    return planned


@dataclass
class Entry:
    """One injection's result, as the report and the JSON print it."""

    scenario: str
    call_site: str
    fault: str
    outcome: str
    reached: bool
    seconds: float
    violations: list[Violation] = field(default_factory=list)


def entry(result: RunResult) -> Entry:
    injection = result.injection
    return Entry(
        scenario=result.scenario.name,
        call_site=str(injection.site) if injection else "(clean run)",
        fault=str(injection.fault) if injection else "none",
        outcome=str(result.outcome),
        reached=result.reached,
        seconds=result.seconds,
        violations=list(result.violations),
    )


class Runner:
    """Runs scenarios in one world, each run on a new API (``<prefix><n>``), so runs never share state."""

    def __init__(self, world: World, prefix: str = "f") -> None:
        self.world = world
        self._names = (f"{prefix}{n:04d}" for n in itertools.count())

    def record(self, scenario: Scenario) -> tuple[RunResult, list[CallSite]]:
        """The clean run of ``scenario`` and its call sites."""
        result = run(self.world, scenario, next(self._names))
        return result, result.recorder.sites()

    def sites(self, scenario: Scenario) -> list[CallSite]:
        """The call sites of ``scenario`` only (no reconcile period, no checks): cheaper than :meth:`record`."""
        return call_sites(self.world, scenario, next(self._names))

    def inject(self, scenario: Scenario, planned: Iterable[Injection]) -> Iterator[RunResult]:
        for injection in planned:
            yield run(self.world, scenario, next(self._names), injection)


def plan_sample(runner: Runner, scenarios: Sequence[Scenario], index: int) -> list[Injection]:
    """The sample's injections for ``scenarios[index]``: it records the scenarios before it to know their sites."""
    catalog = [(scenario, runner.sites(scenario)) for scenario in scenarios[: index + 1]]
    return [injection for scenario, injection in sample(catalog) if scenario == scenarios[index]]


def run_chunk(scenario: Scenario, planned: Sequence[Injection]) -> list[Entry]:
    """Injections in a fresh world, in this process or a spawned one (a module-level function: picklable)."""
    logging.disable(logging.CRITICAL)  # faulted runs log errors by design
    with open_world() as world:
        return [entry(result) for result in Runner(world).inject(scenario, planned)]
