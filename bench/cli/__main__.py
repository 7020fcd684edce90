"""``python -m bench.cli [--runs N] [--json] [--before FILE]``: start-up time of ``axon``, then bench/cli/RESULTS.md.

Each command runs ``--runs`` times (default 5) as a fresh process, after one untimed warm-up run (so the page cache
is warm for every command alike); the median wall time is reported. Floors are measured beside ``axon``:
``import typer``, the help of a two-command typer app (typer renders help with rich, so any typer CLI pays both),
one boto3 call (what any Python AWS client pays), and ``aws --version`` (the AWS CLI, a Python CLI on botocore)
when ``aws`` is on PATH. ``get`` and ``history`` run against a stub endpoint on localhost that answers every call
at once with an AccessDenied error, so their time is start-up plus one AWS round trip, nothing of AWS's latency.
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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BUDGET_SECONDS = 0.15  # issue 13: `axon --help` and `axon <cmd> --help` at most 0.15 s where possible
AWS_CALL_BUDGET_SECONDS = 0.4  # issue 13: what `get` and `history` may add to their AWS calls
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


class _Denied(BaseHTTPRequestHandler):
    """Every AWS call answered at once with AccessDenied (not retried by botocore): JSON for JSON-protocol services
    (Step Functions: local discovery), XML for query-protocol ones (CloudFormation: discovery on AWS)."""

    def do_POST(self) -> None:
        query = "x-www-form-urlencoded" in self.headers.get("Content-Type", "")
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if query:
            body = (
                b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>bench stub</Message></Error></ErrorResponse>"
            )
        else:
            body = b'{"__type": "AccessDeniedException", "message": "bench stub"}'
        self.send_response(403 if query else 400)
        self.send_header("Content-Type", "text/xml" if query else "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def stub_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Denied)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def commands(endpoint: str) -> dict[str, list[str]]:
    axon = _axon()
    sfn = f"boto3.client('stepfunctions', endpoint_url={endpoint!r}, region_name='us-east-1')"
    one_call = f"import boto3\ntry:\n    {sfn}.list_state_machines()\nexcept Exception:\n    pass"
    cfn = f"boto3.client('cloudformation', endpoint_url={endpoint!r}, region_name='us-east-1')"
    one_aws_call = f"import boto3\ntry:\n    {cfn}.describe_stacks(StackName='AxonCore')\nexcept Exception:\n    pass"
    # On AWS (the stub as the endpoint every client uses, as botocore's AWS_ENDPOINT_URL does): no --endpoint-url.
    on_aws = ["env", f"AWS_ENDPOINT_URL={endpoint}", "AWS_REGION=us-east-1"]
    found: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "a 2-command typer app --help": [sys.executable, "-c", TYPER_APP, "--help"],
        "axon --help": [axon, "--help"],
        "axon get --help": [axon, "get", "--help"],
        "axon history --help": [axon, "history", "--help"],
        "axon --region us-east-1 get --help (typer renders)": [axon, "--region", "us-east-1", "get", "--help"],
        "python: import boto3 + one call (DescribeStacks)": [sys.executable, "-c", one_aws_call],
        "axon get, AWS discovery (one call answered)": [*on_aws, axon, "get"],
        "axon history iris, AWS discovery (one call answered)": [*on_aws, axon, "history", "iris"],
        "python: import boto3 + one call (ListStateMachines)": [sys.executable, "-c", one_call],
        "axon get, local discovery (one call answered)": [axon, "--endpoint-url", endpoint, "get"],
        "axon history iris, local discovery (one call answered)": [axon, "--endpoint-url", endpoint, "history", "iris"],
    }
    aws = shutil.which("aws")
    if aws is not None:
        found["aws --version"] = [aws, "--version"]
    return found


def measure(name: str, command: list[str], runs: int) -> Timing:
    def once() -> float:
        started = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
wall-clock seconds. Budget (issue 13): `axon --help` and `axon <cmd> --help` at most {BUDGET_SECONDS} s (median),
and `get` / `history` at most {AWS_CALL_BUDGET_SECONDS} s more than one boto3 call from a bare Python. `axon ... --help` prints the
screens typer rendered at build time (`axon/cli/start.py`, `make cli-help`); with a global option in front, typer
renders them itself (the typer row). `import typer` and a two-command typer app's `--help` (rendered with rich) are
the floor any typer CLI pays. `get` and `history` run against a stub endpoint on localhost that answers at once.
{aws_note}

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
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})  # signing, never sent out
    with stub_endpoint() as endpoint:
        found = commands(endpoint)
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
