"""The benchmark's bound, warm capacity, shapes, regimes, targets and sensitivity grid."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.autoscaler import report as report_module
from bench.autoscaler import workload as workload_module
from bench.autoscaler.__main__ import main
from bench.autoscaler.bound import DelayedOracle, delayed_schedule, detection_delay
from bench.autoscaler.engine import Fleet, SimConfig, View, simulate
from bench.autoscaler.policies import POLICIES
from bench.autoscaler.policies.oracle import (
    Oracle,
    horizon_of,
    needed_replicas,
)
from bench.autoscaler.run import Source, Summary, run, run_jobs, warm_pool_for
from bench.autoscaler.verdict import (
    BASELINES,
    burstiness,
    reaction_minutes,
    regime,
    targets,
)
from bench.autoscaler.workload import Workload, from_rate, synthetic
from tests.unit.autoscaler.conftest import summary_of

STEP = 600  # load steps up at t = 600 s


def _step_x6(t: np.ndarray) -> np.ndarray:
    return np.where((t >= 600) & (t < 1500), 12.0, 2.0)


def test_the_delayed_oracle_lies_between_the_reactive_baselines_and_the_oracle_on_a_step() -> None:
    """x6 step: the oracle meets the SLO everywhere; the delayed oracle loses what arrives before its replicas can
    serve (detection + provisioning), and no datapoint-reading baseline (cortex, both AWS) does better."""
    step = from_rate("step-x6", _step_x6, 2100, seed=1)
    names = ["oracle", "delayed-oracle", "cortex", "aws-target-tracking", "aws-target-tracking-hr"]
    slo = {s.result.policy: s.result.slo_met_fraction for s in run(step, names, SimConfig(tail_seconds=300))}
    reactive = max(slo[n] for n in names[2:])
    assert slo["oracle"] == 1.0 > slo["delayed-oracle"] > reactive


def test_the_delayed_oracle_acts_one_detection_delay_after_the_load_and_serves_after_provisioning() -> None:
    need = np.array([2] * 10 + [5] * 40 + [2] * 100)
    schedule = delayed_schedule(need, provisioning=20, delay=7, initial=2)
    assert schedule[16] == 2 and schedule[17] == 5  # the rise at 10 is requested at 17
    assert schedule[56] == 5 and schedule[57] == 2  # released when the fall at 50 is seen
    assert detection_delay(SimConfig(metric_lag_seconds=20)) == 20 + 10 + 10
    # A dip shorter than the provisioning delay is held; a longer one is released.
    dips = np.array([1] * 5 + [3] * 10 + [1] * 15 + [3] * 10 + [1] * 40 + [3] * 10 + [1] * 10)
    held = delayed_schedule(dips, provisioning=20, delay=0, initial=1)
    assert held[15:40].min() == 3 and held[50:80].max() == 1


def test_with_zero_delays_the_delayed_oracle_is_the_oracle(small: Workload) -> None:
    cfg = SimConfig(tail_seconds=300, provisioning_seconds=0)
    horizon = horizon_of(small, cfg)
    oracle, bound = Oracle(small, cfg, horizon), DelayedOracle(small, cfg, horizon, detection_seconds=0)
    assert bound.initial == oracle.initial and (bound.schedule == oracle.schedule).all()
    by_oracle, by_bound = simulate(small, oracle, cfg, oracle.initial), simulate(small, bound, cfg, bound.initial)
    assert by_oracle.slo_met == by_bound.slo_met == len(small.arrival)
    assert by_oracle.replica_seconds == by_bound.replica_seconds


def test_the_delayed_oracle_sizes_for_the_backlog_it_has_seen() -> None:
    """A queue of 30 seen (steady) asks for 30 more replicas on top of the schedule; a growing one for what it will
    be when they serve; none without a queue."""
    cfg = SimConfig(metric_lag_seconds=0, provisioning_seconds=5)
    idle = Workload("idle", np.array([0.0]), np.array([0.5]))
    bound = DelayedOracle(idle, cfg, 200, detection_seconds=10)
    view = View(cfg, [], [], np.zeros(4), queued=[0] * 60 + [30] * 40)
    view.now = 100  # sees the end of second 89
    assert bound.step(view) == 30 + int(bound.schedule[100])
    # Growing by 2 a second over the last 10 s seen: 30 + 2 x (100 + 5 - 89) queued when the replicas serve.
    view.queued[:] = [0] * 60 + [2 * i for i in range(40)]
    assert view.queued[89] == 58 and bound.step(view) == 58 + 2 * 16 + int(bound.schedule[100])
    view.queued[:] = [0] * 100
    assert bound.step(view) == int(bound.schedule[100])


def test_cli_adds_the_delayed_oracle_only_when_asked(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    trace = tmp_path / "t.csv"
    rows = ["TIMESTAMP"] + [
        f"2023-11-16 18:{17 + i // 600:02d}:{(i // 10) % 60:02d}.{i % 10}000000" for i in range(600)
    ]
    trace.write_text("\n".join(rows) + "\n")
    assert main(["--trace", str(trace), "--json"]) == 0
    assert [row["policy"] for row in json.loads(capsys.readouterr().out)] == list(POLICIES)
    assert main(["--trace", str(trace), "--policy", "delayed-oracle", "--policy", "oracle", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [row["policy"] for row in out] == ["delayed-oracle", "oracle"] and out[0]["cost_ratio_to_oracle"] > 0


class _Schedule:
    """Requests ``counts[t]`` (the last one given at or before ``t``) every second."""

    name = "schedule"
    tick_seconds = 1

    def __init__(self, counts: dict[int, int]):
        self.counts = sorted(counts.items())

    def step(self, view: View) -> int:
        return [n for at, n in self.counts if at <= view.now][-1]


def test_a_scale_out_takes_warm_instances_first_and_refills_them_in_the_background() -> None:
    fleet = Fleet(SimConfig(warm_pool=2, warm_provisioning_seconds=5, provisioning_seconds=20), ready=1)
    fleet.scale_out(10, 3)
    assert (fleet.warm, fleet.starting, list(fleet.from_pool), list(fleet.cold)) == (0, 3, [15, 15], [30])
    fleet.advance(14)
    assert fleet.ready == 1
    fleet.advance(15)
    assert fleet.ready == 3 and list(fleet.refills) == [30, 30]
    fleet.advance(30)
    assert (fleet.ready, fleet.warm, fleet.starting) == (4, 2, 0)


def test_a_scale_in_cancels_the_start_that_would_serve_last_first() -> None:
    fleet = Fleet(SimConfig(warm_pool=2, warm_provisioning_seconds=5, provisioning_seconds=20), ready=1)
    fleet.scale_out(10, 3)  # two warm starts (serve at 15), one cold (serves at 30)
    fleet.scale_in(1)
    assert (list(fleet.from_pool), list(fleet.cold), fleet.warm, fleet.ready) == ([15, 15], [], 0, 1)
    fleet.scale_in(2)  # the warm starts go back to the pool; their refills are cancelled; nothing ready drained
    assert (fleet.starting, fleet.warm, list(fleet.refills), fleet.ready, fleet.draining) == (0, 2, [], 1, 0)


_POOL = SimConfig(
    warm_pool=2, warm_provisioning_seconds=5, provisioning_seconds=20, warm_cost_ratio=0.5, tail_seconds=200
)
_ONE = Workload("one", np.array([0.0]), np.array([0.1]))


@pytest.mark.parametrize(
    ("back_at", "billed", "warm"),
    [
        # 0-9: 1 ready + 2 warm x 0.5; 10-14: + 1 starting + 1 refilling, 1 warm; 15-29: the same with the start
        # ready; 30-99: 2 ready + 2 warm (refilled); 100-199: 1 ready + 2 warm (the pool is full: the drained one
        # is terminated).
        (100, 10 * 2 + 5 * 3.5 + 15 * 3.5 + 70 * 3 + 100 * 2, 10 * 2 + 20 * 1 + 170 * 2),
        # Drained at 20, while its slot refills: it goes back to the pool and the refill is cancelled.
        (20, 10 * 2 + 5 * 3.5 + 5 * 3.5 + 180 * 2, 10 * 2 + 10 * 1 + 180 * 2),
        # Cancelled at 12 while it starts from the pool: back to the pool, refill cancelled.
        (12, 10 * 2 + 2 * 3.5 + 188 * 2, 10 * 2 + 2 * 1 + 188 * 2),
    ],
)
def test_warm_instances_bill_at_their_ratio_and_scale_in_returns_them_to_the_pool(
    back_at: int, billed: float, warm: int
) -> None:
    result = simulate(_ONE, _Schedule({0: 1, 10: 2, back_at: 1}), _POOL, init_replicas=1)
    assert result.scale_actions == 2
    assert result.replica_seconds == pytest.approx(billed) and result.warm_seconds == warm


def test_a_warm_instance_serves_after_the_warm_provisioning_time() -> None:
    cold = simulate(_ONE, _Schedule({0: 1, 10: 2}), replace(_POOL, warm_pool=0), init_replicas=1)
    warm = simulate(_ONE, _Schedule({0: 1, 10: 2}), _POOL, init_replicas=1)
    assert warm.ready_series[:4] == [1, 2, 2, 2]  # requested at 10, serving at 15 (end of second 19: 2)
    assert cold.ready_series[:4] == [1, 1, 1, 2]  # serving at 30
    assert cold.warm_seconds == 0 and cold.replica_seconds == 10 + 2 * 190


def test_axon_warm_runs_axon_on_a_warm_pool_sized_to_the_peak_need(small: Workload) -> None:
    cfg = SimConfig(tail_seconds=300)
    rows = {s.result.policy: s.result for s in run(small, ["axon", "axon+warm"], cfg)}
    assert warm_pool_for(small, cfg) == needed_replicas(small, cfg, horizon_of(small, cfg)).max()
    assert rows["axon+warm"].warm_seconds > 0 and rows["axon"].warm_seconds == 0
    assert rows["axon+warm"].slo_met >= rows["axon"].slo_met


def test_a_shape_runs_five_seeds_by_default(tiny_shape: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--shape", tiny_shape, "--policy", "oracle", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["seeds"] == 5


def test_the_first_five_shapes_keep_their_rates() -> None:
    rate = {name: fn for name, (fn, _) in workload_module.SYNTHETIC.items()}
    t = np.array([0.0, 1199.0, 1200.0, 1379.0, 1380.0, 3600.0])
    assert rate["step"](t).tolist() == [4, 4, 20, 20, 20, 20]
    assert rate["spike"](t).tolist() == [4, 4, 40, 40, 4, 4]
    assert rate["on-off"](np.array([0.0, 299.0, 300.0, 1500.0])).tolist() == [12, 12, 0.05, 12]
    assert rate["ramp"](np.array([600.0, 2400.0, 5400.0])).tolist() == [2, 20, 2]
    assert rate["daily"](np.array([0.0, 7200.0])).tolist() == [4, 16]
    # No noise, nothing more drawn: a seed's draw is what it was before noise existed.
    step = synthetic("step", seed=2)
    assert (step.arrival == from_rate("synthetic-step", rate["step"], 3600, seed=2).arrival).all()


def test_the_new_shapes() -> None:
    shapes = workload_module.SYNTHETIC
    flash, _ = shapes["flash-crowd"]
    assert flash(np.array([1199.0, 1200.0, 2279.0, 2280.0])).tolist() == [3, 27, 27, 3]  # x9 for 18 minutes
    bursts, seconds = shapes["recurring-bursts"]
    t = np.arange(seconds, dtype=np.float64)
    starts = np.flatnonzero(np.diff((bursts(t) > 2).astype(int)) == 1) + 1
    assert starts.tolist() == [900 + 1800 * k for k in range(6)] and (bursts(t) > 2).sum() == 6 * 240
    two_hour, seconds = shapes["diurnal-2h"]
    assert seconds == 3 * 7200 and two_hour(np.array([0.0, 3600.0, 7200.0])).tolist() == [4, 16, 4]
    day, seconds = shapes["diurnal-24h"]
    hourly = day(np.arange(24) * 3600.0)
    assert seconds == 86400 and 2 <= hourly.argmin() <= 4 and hourly.max() / hourly.min() > 3
    ramp, seconds = shapes["slow-ramp"]
    assert ramp(np.array([0.0, 600.0, 7800.0, 9000.0])).tolist() == [2, 2, 20, 20]
    # The plateau's per-minute noise: heavy, drawn per seed, the same for the same seed.
    per_minute = [np.bincount((synthetic("noisy-plateau", seed=s).arrival // 60).astype(int)) for s in (1, 1, 2)]
    assert (per_minute[0] == per_minute[1]).all() and not (per_minute[0] == per_minute[2]).all()
    assert per_minute[0].std() / per_minute[0].mean() > 0.3  # Poisson alone: 1 / sqrt(600) = 0.04


def _per_minute(counts: list[int]) -> Workload:
    arrival = np.concatenate([60.0 * m + np.linspace(0, 59, c) for m, c in enumerate(counts)])
    return Workload("minutes", arrival, np.ones(len(arrival)))


def test_a_workload_is_bursty_when_it_rises_by_half_its_peak_within_the_reaction_time() -> None:
    cfg = SimConfig()
    assert reaction_minutes(cfg) == 5  # (20 + 10 + 10 + 240) / 60, rounded up
    flat, jump = _per_minute([60] * 20), _per_minute([10] * 10 + [100] * 10)
    slow = _per_minute(list(range(10, 110, 5)))  # +25 within 5 minutes, of a 105 peak
    assert burstiness(flat, 5) == 0 and burstiness(jump, 5) == pytest.approx(0.9)
    assert burstiness(slow, 5) == pytest.approx(25 / 105)
    assert [regime(w, cfg) for w in (flat, jump, slow)] == ["smooth", "bursty", "smooth"]
    # The same slow rise seen over a longer reaction time (480-s provisioning: 9 minutes) is still smooth.
    assert burstiness(slow, reaction_minutes(replace(cfg, provisioning_seconds=480))) == pytest.approx(45 / 105)


def _rows(**slo_cost: tuple[float, float]) -> dict[str, Summary]:
    names = {name: name.replace("axon_warm", "axon+warm").replace("_", "-") for name in slo_cost}
    return {names[name]: summary_of(names[name], *v) for name, v in slo_cost.items()}


def test_the_targets_follow_the_regime() -> None:
    peers = {"cortex": (0.95, 90.0), "kpa": (0.96, 90.0), "aws_target_tracking": (0.9, 80.0)}
    smooth = targets(_rows(axon=(0.9585, 125.0), **peers), "smooth")  # 0.15 pt under kpa: within tolerance
    assert [(t.label, t.met) for t in smooth] == [
        ("SLO >= every baseline", True),
        ("cost <= 1.3x oracle", True),
        ("SLO >= 99%", False),
    ]
    bursty = targets(
        _rows(axon=(0.95, 161.0), delayed_oracle=(0.985, 90.0), axon_warm=(0.951, 140.0), **peers), "bursty", warm=True
    )
    assert [(t.label, t.met) for t in bursty] == [
        ("SLO >= every baseline", False),
        ("cost <= 1.6x oracle", False),
        ("within 3 pt of delayed-oracle", False),
        ("axon+warm SLO >= 95%", True),
    ]
    assert str(bursty[0]) == "SLO >= every baseline: no (kpa 96.00% vs 95.00%)"
    assert str(bursty[2]) == "within 3 pt of delayed-oracle: no (3.50 pt below)"
    # Without the rows they need, the bound and warm targets are not judged.
    assert [t.met for t in targets(_rows(axon=(0.99, 100.0)), "bursty", warm=True)[2:]] == [None, None]


def test_jobs_give_the_same_results_in_worker_processes(tiny_shape: str) -> None:
    cfg = SimConfig(tail_seconds=120)
    jobs = [(Source(shape=tiny_shape), seed, ("axon", "delayed-oracle", "oracle"), cfg) for seed in (1, 2, 3)]
    key = [[(s.result.slo_met, s.result.replica_seconds) for s in rows] for rows in run_jobs(jobs)]
    assert key == [[(s.result.slo_met, s.result.replica_seconds) for s in rows] for rows in run_jobs(jobs, 2)]


@pytest.fixture
def tiny_grid(tiny_shape: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(report_module, "SENSITIVITY_SOURCES", (Source(shape=tiny_shape),))
    monkeypatch.setattr(report_module, "SENSITIVITY_PROVISIONING", (60, 240))
    monkeypatch.setattr(report_module, "SENSITIVITY_SLO", (0.5, 2.0))
    return tiny_shape


def test_the_sensitivity_grid_compares_axon_with_the_best_baseline_and_the_bound(tiny_grid: str) -> None:
    cfg = SimConfig(tail_seconds=120)
    jobs = report_module.sensitivity_jobs(cfg)
    results = report_module.run_all(jobs, processes=1)
    rows = report_module.sensitivity_rows(jobs, results)
    assert [(r.provisioning, r.slo) for r in rows] == [(60, 0.5), (60, 2.0), (240, 0.5), (240, 2.0)]
    for row, scored in zip(rows, results, strict=True):
        slo = {s.result.policy: s.result.slo_met_fraction for s in scored}
        assert row.best.slo == max(slo[n] for n in BASELINES) and row.axon.slo == slo["axon"]
        assert row.bound.policy == "delayed-oracle" and row.bound.slo == slo["delayed-oracle"]
    # A longer provisioning delay costs the bound SLO; a looser SLO never lowers it.
    assert rows[2].bound.slo < rows[0].bound.slo and rows[1].bound.slo >= rows[0].bound.slo
    table = report_module.sensitivity_section(rows)
    assert sum(line.startswith("| 60 s | 0.5 s |") for line in table) == 1


def test_cli_prints_the_sensitivity_grid(tiny_grid: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--sensitivity", "--json", "--processes", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 4 and {"axon", "best_baseline", "delayed-oracle"} <= set(out[0])
    assert out[0]["best_baseline"]["policy"] in BASELINES


def test_results_are_written_with_targets_extra_rows_and_sensitivity(
    tiny_grid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "HERE", tmp_path)
    monkeypatch.setattr(report_module, "sources", lambda: [Source(shape=tiny_grid)])
    path = report_module.write_results(SimConfig(tail_seconds=120), seeds=2, processes=1)
    text = path.read_text()
    assert path == tmp_path / "RESULTS.md" and (tmp_path / f"synthetic-{tiny_grid}.png").exists()
    assert f"| synthetic-{tiny_grid} | bursty |" in text  # 1 -> 6 req/s at once
    for row in ("| delayed-oracle |", "| axon+warm |", "## Sensitivity", "within 3 pt of delayed-oracle"):
        assert row in text
