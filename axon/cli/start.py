"""The ``axon`` console script: ``--help`` answered from the rendered help file, everything else by the typer app.

Python starts in ~0.03 s, but importing click and typer takes ~0.1-0.2 s and rendering typer's help with rich
another ~0.3 s, so a help screen through typer can never meet a 0.15 s budget. The help screens are static, so they
are rendered once, at 80 columns, plain and with ANSI styles, into ``axon/cli/help.json`` (``make cli-help``; a test
fails when the file and a fresh rendering differ) and printed from there. Only an exact ``axon [VERB...] --help``
takes this path; anything else (global options, a typo, other flags) goes to typer, which renders as before.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

HELP_FILE = "help.json"
WIDTH = 80  # the width the help is rendered at (COLUMNS while rendering)


def cached_help(args: list[str], *, terminal: bool) -> str | None:
    """The rendered help for ``args`` when they are exactly ``[VERB...] --help``; ``None`` otherwise."""
    if not args or args[-1] != "--help" or any(arg.startswith("-") for arg in args[:-1]):
        return None
    texts = json.loads(files("axon.cli").joinpath(HELP_FILE).read_text(encoding="utf-8"))
    screen = texts.get(" ".join(args[:-1]))
    if screen is None:
        return None
    styled = terminal and not os.environ.get("NO_COLOR")
    text: str = screen["ansi" if styled else "plain"]
    return text


def main() -> None:
    """Console script ``axon``."""
    text = cached_help(sys.argv[1:], terminal=sys.stdout.isatty())
    if text is not None:
        sys.stdout.write(text)
        return
    from axon.cli.app import main as run

    run()


def render_help() -> dict[str, dict[str, str]]:
    """Every help screen of the typer app, as typer renders it at :data:`WIDTH` columns: plain and styled."""
    import typer.main
    from typer.testing import CliRunner

    from axon.cli.app import app

    def paths(command: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [prefix]
        for name, sub in getattr(command, "commands", {}).items():
            found += paths(sub, (*prefix, name))
        return found

    screens: dict[str, dict[str, str]] = {}
    for path in paths(typer.main.get_command(app), ()):
        variants = {}
        for variant, env in (("plain", {}), ("ansi", {"FORCE_COLOR": "1", "TERM": "xterm-256color"})):
            done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH), **env}, color=True)
            if done.exit_code != 0:
                raise RuntimeError(f"axon {' '.join(path)} --help exited {done.exit_code}: {done.output}")
            variants[variant] = done.stdout
        screens[" ".join(path)] = variants
    return screens


def write_help() -> None:
    """``make cli-help``: render every help screen into the package's help file."""
    Path(str(files("axon.cli").joinpath(HELP_FILE))).write_text(help_file_text(render_help()), encoding="utf-8")


def help_file_text(screens: dict[str, dict[str, str]]) -> str:
    return json.dumps(screens, indent=1, sort_keys=True) + "\n"
