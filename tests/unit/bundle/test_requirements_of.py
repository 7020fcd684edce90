import io
import sys

import pytest

from axon.bundle.requirements_of import main
from tests.unit.bundle.builder import valid


def _run(monkeypatch: pytest.MonkeyPatch, data: bytes, api: str = "iris") -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return main(["--api", api])


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.startswith("#")]


def test_prints_the_validated_requirements_binary_wheels_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = valid().file("requirements.txt", "# pinned\nnumpy==2.0\n\nscipy>=1.10\n").build()
    assert _run(monkeypatch, data) == 0
    assert _lines(capsys.readouterr().out) == ["--only-binary :all:", "numpy==2.0", "scipy>=1.10"]


def test_the_spec_can_allow_source_builds(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = valid(spec="build: {allow_source_builds: true}\n").file("requirements.txt", "numpy==2.0\n").build()
    assert _run(monkeypatch, data) == 0
    assert _lines(capsys.readouterr().out) == ["numpy==2.0"]


def test_a_refused_bundle_prints_its_code_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = valid().file("requirements.txt", "-e git+https://example.com/x.git\n").build()
    assert _run(monkeypatch, data) == 1
    assert capsys.readouterr().err.startswith("bundle.requirements_invalid")
