"""``axon --help`` stays fast: the modules it loads are checked here, deterministically (no timing).

Importing ``axon.cli.app`` and asking for help must not load boto3, pydantic, rich, the registry, the rollout or
the local stack: every verb imports its implementation in its body (``axon.cli.app``). The one exception is rich
under ``--help``: typer renders its help with rich, and replacing that would change the help's output.
How long start-up takes is measured, not tested: ``python -m bench.cli`` (bench/cli/RESULTS.md).
"""

import json
import subprocess
import sys

import pytest

# Heavy to import, and not needed to declare the command line.
HEAVY = (
    "boto3",
    "botocore",
    "s3transfer",
    "pydantic",
    "pydantic_core",
    "rich",
    "yaml",
    "moto",
    "axon.registry",
    "axon.rollout",
    "axon_local",
    "axon.platforms",
    "axon.spec",
    "axon.settings",
    "axon.cli.context",
    "axon.cli.render",
)
# typer's help is rendered by rich (typer.rich_utils imports rich, pygments and markdown_it): the measured floor.
TYPER_HELP = ("rich",)


def _heavy(modules: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        m
        for m in modules
        if any(m == h or m.startswith(f"{h}.") for h in HEAVY)
        and not any(m == a or m.startswith(f"{a}.") for a in allowed)
    )


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, check=False)


def test_importing_the_app_loads_no_heavy_module() -> None:
    done = _run(["-c", "import axon.cli.app, json, sys; print(json.dumps(sorted(sys.modules)))"])
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout))
    assert "axon.cli.app" in modules
    assert _heavy(modules) == []


def _imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self [us] | cumulative | <indent>name``."""
    return {
        line.split("|")[2].strip() for line in stderr.splitlines() if line.startswith("import time:") and "|" in line
    }


# The typer app's own entry, bypassing axon/cli/start.py's rendered help file.
_TYPER_MAIN = "import sys; sys.argv[0] = 'axon'; from axon.cli.app import main; main()"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["get", "--help"], ["history", "--help"], ["deploy", "--help"], ["local", "up", "--help"], []],
    ids=lambda args: " ".join(args) or "no-args",
)
def test_help_loads_no_heavy_module_but_typers_rich(args: list[str]) -> None:
    """Through typer itself (what the rendered help file misses: global options, a typo): still light."""
    done = _run(["-X", "importtime", "-c", _TYPER_MAIN, *args])
    assert "Usage: " in done.stdout, done.stderr[-2000:]
    assert done.returncode == (0 if args else 2)  # no arguments: the help, with click's usage exit status
    modules = _imported(done.stderr)
    assert "axon.cli.app" in modules
    assert _heavy(modules, allowed=TYPER_HELP) == []


def test_a_subcommands_help_does_not_build_typers_pydantic_adapters() -> None:
    """``axon.cli.groups.LightHelpGroup`` keeps typer from importing pydantic for the group's unset options."""
    done = _run(["-X", "importtime", "-c", _TYPER_MAIN, "get", "--help"])
    assert done.returncode == 0, done.stderr
    assert not {m for m in _imported(done.stderr) if m.split(".")[0] in ("pydantic", "pydantic_core")}


def test_a_verbs_own_options_are_coerced_without_pydantic() -> None:
    """Up to discovery on AWS, `axon get -o json --watch --interval 3` loads neither pydantic nor typer's adapters."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _TYPER_MAIN, "--region", "us-east-1", "get", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    assert done.returncode == 1 and "error: " in done.stderr  # the stub-less endpoint: one error line
    modules = _imported(done.stderr)
    assert "axon.cli.get" in modules
    assert not {m for m in modules if m.split(".")[0] in ("pydantic", "pydantic_core") or m == "typer._adapters"}
