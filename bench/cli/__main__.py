"""``python -m bench.cli [--runs N] [--json] [--before FILE]``: start-up time of ``axon``, then bench/cli/RESULTS.md.

Each command runs ``--runs`` times (default 5) as a fresh process, after one untimed warm-up run (so the page cache
is warm for every command alike); the median wall time is reported. Two floors are measured beside ``axon``:
``import typer``, and the help of a two-command typer app (typer renders help with rich, so any typer CLI pays
both); and ``aws --version`` (the AWS CLI, a Python CLI on botocore) when ``aws`` is on PATH.
``--before FILE`` adds a column from an earlier ``--json`` run (e.g. of the previous commit's tree).
A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BUDGET_SECONDS = 0.15  # issue 13: `axon --help` and `axon <cmd> --help` at most 0.15 s where possible
# The smallest typer CLI with two commands: what any typer + rich help costs (the floor under `axon --help`).
TYPER_APP = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def one(x: int = 1) -> None:
    "One."
@app.command()
def two(x: int = 1) -> None:
    "Two."
app()
"""


@dataclass(frozen=True)
class Timing:
    name: str
    command: list[str]
    runs: list[float]  # seconds, wall clock, one per run

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def _axon() -> str:
    """The ``axon`` console script beside this interpreter (the project's virtualenv), else the one on PATH."""
    beside = Path(sys.executable).parent / "axon"
    return str(beside) if beside.exists() else (shutil.which("axon") or "axon")


def commands() -> dict[str, list[str]]:
    axon = _axon()
    found: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "a 2-command typer app --help": [sys.executable, "-c", TYPER_APP, "--help"],
        "axon --help": [axon, "--help"],
        "axon get --help": [axon, "get", "--help"],
        "axon history --help": [axon, "history", "--help"],
    }
    aws = shutil.which("aws")
    if aws is not None:
        found["aws --version"] = [aws, "--version"]
    return found


def measure(name: str, command: list[str], runs: int) -> Timing:
    def once() -> float:
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    once()  # warm-up, untimed
    return Timing(name, command, [once() for _ in range(runs)])


def render(
    timings: list[Timing],
    runs: int,
    load_before: tuple[float, ...],
    aws_found: bool,
    before: dict[str, float] | None = None,
    before_label: str = "",
) -> str:
    def earlier(name: str) -> str:
        if before is None:
            return ""
        return f" {before[name]:.3f} |" if name in before else " - |"

    head = "| command |" + (f" before ({before_label}): median s |" if before is not None else "")
    head += " median s | min s | max s |"
    rule = "|---|" + ("---:|" if before is not None else "") + "---:|---:|---:|"
    rows = "\n".join(
        f"| `{t.name}` |{earlier(t.name)} {t.median:.3f} | {min(t.runs):.3f} | {max(t.runs):.3f} |" for t in timings
    )
    aws_note = (
        "`aws --version` is the AWS CLI v1 (a Python CLI on botocore), measured as a reference point."
        if aws_found
        else "`aws` is not on PATH here: the AWS CLI reference row is skipped."
    )
    return f"""# `axon` start-up time

`python -m bench.cli` runs each command {runs} times as a fresh process (after one untimed warm-up run) and reports
wall-clock seconds. Budget (issue 13): `axon --help` and `axon <cmd> --help` at most {BUDGET_SECONDS} s (median)
where possible. `import typer` and a two-command typer app's `--help` (rendered with rich) are the floor any typer
CLI pays. {aws_note}

{head}
{rule}
{rows}

Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()};
load average at start {", ".join(f"{x:.2f}" for x in load_before)} (other work on the machine inflates every row).
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cli", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--json", action="store_true", help="print the timings as JSON, do not write RESULTS.md")
    parser.add_argument("--before", type=Path, help="an earlier --json output: its medians become a column")
    parser.add_argument("--before-label", default="earlier run", help="that column's name")
    args = parser.parse_args()
    load_before = os.getloadavg()
    found = commands()
    timings = [measure(name, command, args.runs) for name, command in found.items()]
    if args.json:
        print(json.dumps({t.name: {"median": t.median, "runs": t.runs} for t in timings}, indent=2))
        return
    before = None
    if args.before is not None:
        before = {name: float(t["median"]) for name, t in json.loads(args.before.read_text()).items()}
    RESULTS.write_text(render(timings, args.runs, load_before, "aws --version" in found, before, args.before_label))
    for t in timings:
        print(f"{t.name:32} median {t.median:.3f} s")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
