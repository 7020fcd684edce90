"""``axon [VERB...] --help`` is answered from the rendered help file, which must be what typer renders today."""

import json
import subprocess
import sys
from importlib.resources import files

import pytest

from axon.cli.start import HELP_FILE, cached_help, help_file_text, render_help


def test_the_help_file_is_what_typer_renders_now() -> None:
    """Change an option or a help text without `make cli-help` and this fails."""
    committed = files("axon.cli").joinpath(HELP_FILE).read_text(encoding="utf-8")
    assert committed == help_file_text(render_help()), "the help screens changed: run `make cli-help`"


def test_every_command_has_both_screens() -> None:
    screens = json.loads(files("axon.cli").joinpath(HELP_FILE).read_text(encoding="utf-8"))
    verbs = {"deploy", "get", "history", "predict", "submit", "result", "rollback", "delete", "pack", "validate"}
    verbs |= {"info", "logs"}
    assert set(screens) == {"", *verbs, "local", "local up"}
    for screen in screens.values():
        assert "\x1b[" in screen["ansi"] and "\x1b" not in screen["plain"]


def test_a_help_request_loads_neither_typer_nor_click_and_prints_the_rendered_screen() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "axon.cli", "deploy", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m.split(".")[0] in {"typer", "click", "rich", "boto3", "pydantic"}}
    assert done.stdout == cached_help(["deploy", "--help"], terminal=False)
    assert "[a-z0-9-]{1,40}" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["get"],  # not a help request
        ["--profile", "prod", "get", "--help"],  # global options: typer renders
        ["no-such-verb", "--help"],  # typer's own usage error
        ["get", "--help", "--bogus"],
        [],
    ],
)
def test_anything_but_an_exact_help_request_goes_to_typer(args: list[str]) -> None:
    assert cached_help(args, terminal=False) is None


def test_styles_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b[" in (cached_help(["get", "--help"], terminal=True) or "")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in (cached_help(["get", "--help"], terminal=True) or "\x1b")
