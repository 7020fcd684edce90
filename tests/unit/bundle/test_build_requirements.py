"""The image build's pip inputs: wheels-only policy, torch lines split off for the PyTorch index, torch pins."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from axon.bundle.build_requirements import main, pip_requirements, torch_pins, torch_requirements


def _requirement_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_binary_wheels_only_unless_the_spec_opts_out() -> None:
    assert _requirement_lines(pip_requirements("numpy==2.0\n", allow_source_builds=False)) == [
        "--only-binary :all:",
        "numpy==2.0",
    ]
    assert _requirement_lines(pip_requirements("numpy==2.0\n", allow_source_builds=True)) == ["numpy==2.0"]


def test_torch_lines_are_split_off_with_their_hashes_and_nothing_else() -> None:
    text = "numpy==2.0\ntorch==2.5.1 --hash=sha256:ab\nTorchVision>=0.20\ntorch-geometric==2.6\npytorch-lightning\n"
    assert torch_requirements(text).splitlines() == [
        "--only-binary :all:",
        "torch==2.5.1 --hash=sha256:ab",
        "TorchVision>=0.20",
    ]
    assert torch_requirements("numpy==2.0\n") == ""


def test_pins_name_exactly_the_installed_torch_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"torch": "2.5.1+cu126", "torchaudio": "2.5.1+cu126"}

    def version(name: str) -> str:
        if name not in installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert torch_pins() == "torch==2.5.1+cu126\ntorchaudio==2.5.1+cu126\n"


def test_cli_prints_the_torch_lines_of_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("--only-binary :all:\nscipy\ntorch==2.5.1\n")
    assert main(["torch", str(requirements)]) == 0
    assert capsys.readouterr().out == "--only-binary :all:\ntorch==2.5.1\n"
