"""Regenerate ``bench/autoscaler/RESULTS.md`` and one PNG per workload (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.autoscaler.bound import NAME as BOUND
from bench.autoscaler.bound import detection_delay
from bench.autoscaler.engine import PERIOD, WARM_COST_RATIO, SimConfig
from bench.autoscaler.policies import POLICIES
from bench.autoscaler.run import DEFAULT_SEEDS, EXTRA, WARM, Job, Scored, Source, Summary, run_jobs, summarize
from bench.autoscaler.verdict import (
    BASELINES,
    BURSTY_RISE,
    COST_TOLERANCE,
    SLO_TOLERANCE,
    WARM_SHAPES,
    Regime,
    burstiness,
    compare,
    reaction_minutes,
    regime,
    targets,
)
from bench.autoscaler.workload import SYNTHETIC, Workload

HERE = Path(__file__).resolve().parent
TRACES = HERE.parents[1].parent / "shared" / "traces"  # <repo>/../shared/traces
PLOTTED = ("axon", "cortex", "aws-target-tracking-hr", BOUND, "oracle")
PEERS = {"aws-target-tracking": "AWS standard", "aws-target-tracking-hr": "AWS high-res", "cortex": "cortex"}
RESULT_POLICIES = (*POLICIES, *EXTRA)  # every row of RESULTS.md


def sources() -> list[Source]:
    """Every workload RESULTS.md covers: the shared traces (when present), then every synthetic shape."""
    return [Source(trace=path) for path in sorted(TRACES.glob("*.csv"))] + [Source(shape=s) for s in SYNTHETIC]


def _weight(source: Source) -> float:
    """About how long a job runs (simulated seconds), to hand the longest to the workers first."""
    return SYNTHETIC[source.shape][1] if source.shape is not None else 3600.0


def run_all(jobs: list[Job], processes: int | None) -> list[list[Scored]]:
    """:func:`run_jobs`, longest first on ``processes`` (default: every CPU), results in the jobs' order."""
    order = sorted(range(len(jobs)), key=lambda k: -_weight(jobs[k][0]))
    done = run_jobs([jobs[k] for k in order], processes or os.cpu_count() or 1)
    results: list[list[Scored]] = [[] for _ in jobs]
    for k, rows in zip(order, done, strict=True):
        results[k] = rows
    return results


def plot(workload: Workload, rows: list[Scored], path: Path) -> None:
    fig, (load_ax, rep_ax) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    by_name = {s.result.policy: s.result for s in rows}
    minutes = [i * PERIOD / 60 for i in range(len(by_name["oracle"].in_flight_series))]
    load_ax.plot(minutes, by_name["oracle"].in_flight_series, color="black", lw=0.8, label="in flight (oracle run)")
    load_ax.plot(
        minutes, by_name["axon"].in_flight_series, color="tab:blue", lw=0.8, alpha=0.7, label="in flight (axon)"
    )
    load_ax.set_ylabel("requests in flight")
    load_ax.legend(loc="upper right", fontsize=8)
    for name in (n for n in PLOTTED if n in by_name):
        series = by_name[name].requested_series
        rep_ax.step(minutes[: len(series)], series, where="post", lw=1.0, label=name)
    rep_ax.set_ylabel("replicas requested")
    rep_ax.set_xlabel("minutes")
    rep_ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(workload.name)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def verdict(rows: dict[str, Summary], kind: Regime = "smooth", warm: bool = False) -> str:
    """axon on one workload, on the means over the seeds: issue 12's targets for its regime
    (:func:`bench.autoscaler.verdict.targets`), each marked met or not, then axon's verdict against each peer by
    dominance (:func:`bench.autoscaler.verdict.compare`)."""
    axon, cortex = rows["axon"], rows["cortex"]
    marks = [str(target) for target in targets(rows, kind, warm)]
    marks += [f"vs {label}: {compare(axon.slo, axon.cost, rows[n].slo, rows[n].cost)}" for n, label in PEERS.items()]
    marks.append(
        f"fewer actions than cortex: {'yes' if axon.mean['scale_actions'] < cortex.mean['scale_actions'] else 'no'}"
    )
    return "; ".join(marks)


def _cell(summary: Summary, metric: str, fmt: Callable[[float], str]) -> str:
    mean = fmt(summary.mean[metric])
    return mean if summary.seeds == 1 else f"{mean} [{fmt(summary.low[metric])}, {fmt(summary.high[metric])}]"


def _row(s: Summary) -> str:
    ratio = s.cost_ratio
    cells = [
        s.policy,
        _cell(s, "slo_met_fraction", lambda v: f"{100 * v:.2f}%"),
        _cell(s, "cost_replica_minutes", lambda v: f"{v:.1f}"),
        f"{ratio:.3f}" if ratio is not None else "-",
        f"{s.floor_ratio:.3f}" if s.floor_ratio is not None else "-",
        _cell(s, "scale_actions", lambda v: f"{v:g}" if v.is_integer() else f"{v:.1f}"),
        _cell(s, "rejected", lambda v: f"{v:g}" if v.is_integer() else f"{v:.1f}"),
    ]
    return "| " + " | ".join(cells) + " |"


def workload_section(
    workload: Workload, summaries: list[Summary], kind: Regime = "smooth", rise: float = 0.0, warm: bool = False
) -> list[str]:
    """One workload's table (means, and with several seeds each metric's range) and axon's verdict line."""
    seeds = summaries[0].seeds
    about = f"{len(workload.arrival):,} requests over {workload.duration / 60:.0f} minutes, "
    about += f"mean service {workload.service.mean():.2f} s"
    about += (
        f" (seed 1 of {seeds}; the table gives the mean over seeds 1..{seeds} and, in brackets, the lowest and highest)."
        if seeds > 1
        else "."
    )
    about += f" Regime: **{kind}** (arrivals rise by {rise:.2f} of the busiest minute within the reaction time;"
    about += f" bursty above {BURSTY_RISE:g})."
    return [
        f"## {workload.name}",
        "",
        about,
        "",
        "| policy | SLO met | cost (replica-min) | cost / oracle | cost / floor | scale actions | rejected |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_row(s) for s in summaries),
        "",
        f"Cost floor (no policy that meets the SLO for every request costs less): {summaries[0].floor_cost:.1f}"
        " replica-min" + (" (mean)." if seeds > 1 else "."),
        "",
        f"axon against the targets (means): {verdict({s.policy: s for s in summaries}, kind, warm)}.",
        "",
    ]


# Sensitivity: axon, the best baseline and the reactive bound over provisioning time x SLO, on one bursty and one
# smooth shape: recurring bursts (x8 for 4 minutes every 30: what burst memory is for) and the 2-hour diurnal cycle
# (the smooth rise and fall a trend forecast is for). Synthetic, so the table needs no trace files.
SENSITIVITY_PROVISIONING = (60, 120, 240, 480)
SENSITIVITY_SLO = (0.5, 1.0, 2.0)
SENSITIVITY_SOURCES = (Source(shape="recurring-bursts"), Source(shape="diurnal-2h"))
SENSITIVITY_SEEDS = 1
SENSITIVITY_POLICIES = ("axon", *BASELINES, "oracle", BOUND)


@dataclass(frozen=True)
class Sensitivity:
    workload: str
    provisioning: int
    slo: float
    axon: Summary
    best: Summary  # the baseline with the highest SLO (the lower cost among equal ones)
    bound: Summary

    def as_json(self) -> dict[str, Any]:
        rows = {"axon": self.axon, "best_baseline": self.best, BOUND: self.bound}
        return {
            "workload": self.workload,
            "provisioning_seconds": self.provisioning,
            "slo_seconds": self.slo,
            **{key: s.as_json() for key, s in rows.items()},
        }


def sensitivity_jobs(cfg: SimConfig, seeds: int = SENSITIVITY_SEEDS) -> list[Job]:
    return [
        (source, seed, SENSITIVITY_POLICIES, replace(cfg, provisioning_seconds=p, slo_seconds=slo))
        for source in SENSITIVITY_SOURCES
        for p in SENSITIVITY_PROVISIONING
        for slo in SENSITIVITY_SLO
        for seed in source.seeds(seeds)
    ]


def sensitivity_rows(jobs: Sequence[Job], results: Sequence[list[Scored]]) -> list[Sensitivity]:
    """One row per (workload, provisioning, SLO) of :func:`sensitivity_jobs`' results, seeds summarized."""
    groups: dict[tuple[str, int, float], list[list[Scored]]] = {}
    for (source, _, _, cfg), rows in zip(jobs, results, strict=True):
        key = (f"synthetic-{source.shape}", cfg.provisioning_seconds, cfg.slo_seconds)
        groups.setdefault(key, []).append(rows)
    found = []
    for (name, provisioning, slo), per_seed in groups.items():
        by = {s.policy: s for s in summarize(per_seed)}
        best = max((by[n] for n in BASELINES), key=lambda s: (round(s.slo, 6), -s.cost))
        found.append(Sensitivity(name, provisioning, slo, by["axon"], best, by[BOUND]))
    return found


def sensitivity(cfg: SimConfig, seeds: int = SENSITIVITY_SEEDS, processes: int | None = None) -> list[Sensitivity]:
    jobs = sensitivity_jobs(cfg, seeds)
    return sensitivity_rows(jobs, run_all(jobs, processes))


def _pair(s: Summary) -> str:
    return f"{100 * s.slo:.2f}% | {s.cost_ratio or 0:.2f}x"


def sensitivity_section(rows: Sequence[Sensitivity], seeds: int = SENSITIVITY_SEEDS) -> list[str]:
    lines = [
        "## Sensitivity: provisioning time x SLO",
        "",
        "axon, the baseline with the highest SLO among "
        + ", ".join(BASELINES)
        + f" (per cell), and the delayed oracle, on {' and '.join(s.shape or '' for s in SENSITIVITY_SOURCES)}"
        f" (bursty and smooth; {'seed 1' if seeds == 1 else f'seeds 1..{seeds}, means'}). Cost is over the oracle's"
        " for the same provisioning time and SLO; everything else is the configuration above.",
    ]
    for name in dict.fromkeys(r.workload for r in rows):
        lines += [
            "",
            f"### {name}",
            "",
            "| provisioning | SLO | axon SLO | axon cost | best baseline | its SLO | its cost | delayed-oracle SLO | its cost |",
            "|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r.provisioning} s | {r.slo:g} s | {_pair(r.axon)} | {r.best.policy} | {_pair(r.best)} | {_pair(r.bound)} |"
            for r in rows
            if r.workload == name
        ]
    return [*lines, ""]


def _targets_table(entries: list[tuple[str, Regime, dict[str, Summary], bool]]) -> list[str]:
    lines = [
        "| workload | regime | axon SLO | axon cost / oracle | targets met | missed |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, kind, rows, warm in entries:
        found = targets(rows, kind, warm)
        judged = [t for t in found if t.met is not None]
        missed = "; ".join(str(t) for t in judged if not t.met) or "-"
        axon = rows["axon"]
        cells = [name, kind, f"{100 * axon.slo:.2f}%", f"{axon.cost_ratio or 0:.2f}x"]
        cells += [f"{sum(bool(t.met) for t in judged)} / {len(judged)}", missed]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_results(cfg: SimConfig, seeds: int = DEFAULT_SEEDS, processes: int | None = None) -> Path:
    """Run every workload (``seeds`` seeds per synthetic shape) and the sensitivity grid, in ``processes`` worker
    processes (default: every CPU); write RESULTS.md and the plots."""
    every = sources()
    main_jobs: list[Job] = [(src, seed, RESULT_POLICIES, cfg) for src in every for seed in src.seeds(seeds)]
    grid = sensitivity_jobs(cfg)
    results = run_all(main_jobs + grid, processes)
    sections: list[str] = []
    entries: list[tuple[str, Regime, dict[str, Summary], bool]] = []
    minutes = reaction_minutes(cfg)
    for src in every:
        per_seed = [rows for job, rows in zip(main_jobs, results[: len(main_jobs)], strict=True) if job[0] == src]
        workload = src.make(1)
        png = f"{workload.name.replace(' ', '_')}.png"
        plot(workload, per_seed[0], HERE / png)
        rise = burstiness(workload, minutes)
        kind = regime(workload, cfg)
        summaries = summarize(per_seed)
        warm = src.shape in WARM_SHAPES
        entries.append((workload.name, kind, {s.policy: s for s in summaries}, warm))
        sections += workload_section(workload, summaries, kind, rise, warm)
        sections += [f"![{workload.name}]({png})" + (" (seed 1)" if len(per_seed) > 1 else ""), ""]
    lines = [
        "# Autoscaler benchmark results",
        "",
        f"Generated by `python -m bench.autoscaler --results --seeds {seeds}` (do not edit by hand). Simulator, policies",
        "and method: [docs/autoscaler.md](../../docs/autoscaler.md). Real traces are replayed once at their own speed",
        f"(no stretch, no tiling); each synthetic shape is drawn with seeds 1..{seeds}, and its table gives each metric's",
        "mean and [lowest, highest]. Traces: Azure LLM inference trace 2023 (Azure Public Dataset, CC-BY 4.0).",
        "",
        "Verdicts are by dominance on the means: axon is `better` than a peer only with a higher SLO at no more cost or",
        "a lower cost at no worse SLO; `worse` when the peer is better in that sense; `trade-off` otherwise (a higher",
        f"SLO for more cost is no win); `tie` within the tolerances ({100 * SLO_TOLERANCE:g} percentage point of SLO,",
        f"{100 * COST_TOLERANCE:g}% of cost).",
        "",
        "Configuration: " + ", ".join(f"`{k}={v}`" for k, v in asdict(cfg).items()) + ".",
        "",
        "Extra rows: `delayed-oracle` (bench/autoscaler/bound.py) knows the true load but acts"
        f" {detection_delay(cfg)} s after it (metric lag + 10-s period + 10-s tick) and serves after provisioning, sized"
        " exactly to the zero-wait need plus the backlog it has seen: the best a reactive scaler without headroom can",
        f"do. `{WARM}` is axon on a platform with a warm pool (ECS Auto Scaling group warm pool) as large as the peak"
        f" need, warm instances serving {cfg.warm_provisioning_seconds} s after the request and billed at"
        f" {WARM_COST_RATIO:g} of a running one (a stopped instance's EBS volume; engine.py), refills billed in full.",
        "",
        "## Issue 12's targets",
        "",
        f"Regime: bursty when a workload's per-minute arrivals rise by more than {BURSTY_RISE:g} of its busiest minute"
        f" within the reaction time ({minutes} minutes: detection + provisioning); smooth otherwise. Targets: axon's"
        f" SLO at least every baseline's ({', '.join(BASELINES)}; within {100 * SLO_TOLERANCE:g} pt); cost at most"
        " 1.3x the oracle's (smooth) or 1.6x (bursty); SLO at least 99% (smooth) or within 3 points of the delayed"
        f" oracle (bursty); with a warm pool ({WARM}) at least 95% on {' and '.join(WARM_SHAPES)}.",
        "",
        *_targets_table(entries),
        "",
        *sections,
        *sensitivity_section(sensitivity_rows(grid, results[len(main_jobs) :])),
    ]
    lines += [
        "## Reading these numbers",
        "",
        "- The oracle is the cheapest schedule under which no request waits at all: the lower bound on cost for",
        f"  zero-wait service, not for the {cfg.slo_seconds:g}-s SLO. A scaler that lets requests wait up to the SLO can cost less than",
        "  it (daily), and could even meet the SLO for every request for less. The cost floor is the bound for that:",
        "  per second the replicas that must be serving in any schedule meeting the SLO for every request (each such",
        "  request runs at least from arrival + SLO to arrival + service), covered at the cheapest. It is a bound, not",
        "  a run, and a loose one where most requests are shorter than the SLO: no policy may reach it.",
        "- A reactive scaler cannot serve load that rises faster than detection + provisioning (the delayed oracle's",
        f"  {detection_delay(cfg)} s + {cfg.provisioning_seconds} s): the first minutes after a step, a flash crowd or a burst fall inside",
        "  that delay. The delayed oracle is the best any scaler does by reacting, sized exactly; policies that keep",
        "  standing headroom (static-peak, or a lower target), hold capacity across long gaps (cortex on on-off, at",
        "  several times the oracle's cost), or predict a burst before it is seen, can beat it, and only foresight",
        "  (oracle) or warm capacity shortens the delay itself. KPA reads 1-s samples without lag: it sees sooner.",
        "",
    ]
    path = HERE / "RESULTS.md"
    path.write_text("\n".join(lines) + "\n")
    return path
