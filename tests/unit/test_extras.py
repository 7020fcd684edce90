"""The `sdk` extra is the SageMaker Python SDK v3 (docs/sdk.md); `dev` installs only the part the tests use."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _extras() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {name: [Requirement(r) for r in reqs] for name, reqs in project["optional-dependencies"].items()}


def test_the_sdk_extra_is_sagemaker_v3() -> None:
    [sdk] = [r for r in _extras()["sdk"] if r.name == "sagemaker"]
    bounds = {(spec.operator, Version(spec.version)) for spec in sdk.specifier}
    assert ("<", Version("4")) in bounds
    assert any(op == ">=" and Version("3") <= version < Version("4") for op, version in bounds)
    assert not sdk.specifier.contains("2.250.0")
    assert not sdk.specifier.contains("4.0.0")


def test_dev_uses_sagemaker_core_not_the_whole_sdk() -> None:
    dev = _extras()["dev"]
    assert not any(r.name == "axon" and "sdk" in r.extras for r in dev)
    [core] = [r for r in dev if r.name == "sagemaker-core"]
    assert core.specifier.contains("2.27.0")
    assert not core.specifier.contains("3.0.0")
