"""Runs a buildspec (version 0.2) the way CodeBuild runs it, on this machine, with ``docker`` and ``aws`` shimmed.

CodeBuild semantics kept: one bash shell for every command of every phase (variables, functions and the working
directory carry over); the build starts in the source directory; a command fails on a non-zero exit status and
ends its phase; a failed INSTALL or PRE_BUILD skips BUILD and POST_BUILD; a failed BUILD still runs POST_BUILD
with ``CODEBUILD_BUILD_SUCCEEDING=0``; ``env.variables`` are defaults that the project's and the start request's
variables override; ``env.exported-variables`` are read from the shell at the end.
The shims (``tests/cdk/shims``) record each call in a log the test reads back (:attr:`BuildRun.calls`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SHIMS = Path(__file__).resolve().parent / "shims"
PHASES = ("install", "pre_build", "build", "post_build")


@dataclass(frozen=True)
class BuildRun:
    status: str  # SUCCEEDED | FAILED
    phases: dict[str, str]  # phase -> SUCCEEDED | FAILED, for the phases that ran
    exported: dict[str, str]
    output: str
    calls: list[dict[str, Any]]

    def calls_of(self, tool: str, **match: Any) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["tool"] == tool and all(c.get(k) == v for k, v in match.items())]


def _phase_block(phase: str, commands: list[str], scripts: Path) -> str:
    """Bash that runs ``commands`` in this shell, stopping at the first failure; sets ``__ok`` to 1 or 0."""
    lines = ["__ok=1"]
    for index, command in enumerate(commands):
        script = scripts / f"{phase}-{index}.sh"
        script.write_text(command + "\n")
        lines += [
            'if [ "$__ok" = 1 ]; then',
            f"  source {script}",
            "  __rc=$?",
            f'  [ "$__rc" = 0 ] || {{ __ok=0; echo "[codebuild] {phase} command {index} exited $__rc" >&2; }}',
            "fi",
        ]
    return "\n".join(lines)


def run_buildspec(buildspec: Path, source: Path, environment: Mapping[str, str], work: Path) -> BuildRun:
    """Run ``buildspec`` in ``source`` with ``environment`` (the project's and the request's variables)."""
    spec = yaml.safe_load(buildspec.read_text())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    phases = spec.get("phases", {})
    scripts, state, bin_dir = work / "scripts", work / "state", work / "bin"
    for folder in (scripts, state, bin_dir):
        folder.mkdir(parents=True)
    for tool in ("aws", "docker"):
        shim = bin_dir / tool
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIMS / tool}.py" "$@"\n')
        shim.chmod(0o755)
    results, log = work / "results", work / "calls.jsonl"
    log.touch()
    block = {phase: _phase_block(phase, phases.get(phase, {}).get("commands", []), scripts) for phase in PHASES}
    record = f'echo "$__phase=$__ok" >> {results}'
    exported = spec["env"].get("exported-variables", [])
    script = "\n".join(
        [
            "export CODEBUILD_BUILD_SUCCEEDING=1",
            "__phase=install",
            block["install"],
            record,
            'if [ "$__ok" = 1 ]; then',
            "__phase=pre_build",
            block["pre_build"],
            record,
            'if [ "$__ok" = 1 ]; then',
            "__phase=build",
            block["build"],
            record,
            '[ "$__ok" = 1 ] || export CODEBUILD_BUILD_SUCCEEDING=0',
            "__phase=post_build",
            block["post_build"],
            record,
            "fi",
            "fi",
            *(f'printf "%s=%s\\n" {name} "${{{name}-}}" >> {work / "exported"}' for name in exported),
        ]
    )
    (work / "build.sh").write_text(script)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(work),
        "CODEBUILD_SRC_DIR": str(source),
        "AXON_SHIM_STATE": str(state),
        "AXON_SHIM_LOG": str(log),
        **{k: str(v) for k, v in spec["env"].get("variables", {}).items()},
        **environment,
    }
    completed = subprocess.run(
        ["bash", str(work / "build.sh")], cwd=source, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    ran = dict(line.split("=", 1) for line in results.read_text().splitlines()) if results.exists() else {}
    status_of = {phase: "SUCCEEDED" if ok == "1" else "FAILED" for phase, ok in ran.items()}
    exported_path = work / "exported"
    values = (
        dict(line.split("=", 1) for line in exported_path.read_text().splitlines()) if exported_path.exists() else {}
    )
    failed = completed.returncode != 0 or "FAILED" in status_of.values()
    return BuildRun(
        status="FAILED" if failed else "SUCCEEDED",
        phases=status_of,
        exported=values,
        output=completed.stdout + completed.stderr,
        calls=[json.loads(line) for line in log.read_text().splitlines()],
    )
