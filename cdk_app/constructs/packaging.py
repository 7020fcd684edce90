"""Lambda packaging without Docker: the control-plane code asset, a dependency layer and the Powertools layer.

Every Lambda runs the same code asset (``lambdas/`` + ``axon/`` without the CLI and the local stack) on top of
two layers:

- the AWS-managed Powertools for AWS Lambda (Python) v3 layer, region-aware by ARN. AWS builds it with
  ``aws-lambda-powertools[all]`` for each runtime and architecture, so it brings pydantic v2 (with
  ``pydantic-core`` compiled for arm64) and the X-Ray SDK;
- a small dependency layer with what that layer and the runtime lack: PyYAML and ``packaging``. Both are pure
  Python (PyYAML's C accelerator is optional), so the layer is copied from this project's own environment (the
  versions the tests ran) minus compiled files: no pip, no network, no Docker at synth time.

A synth-time check refuses Lambda code that imports a third-party module none of these provide, so a missing
dependency fails ``cdk synth`` with a clear message instead of a deployed function at import time.

The image build's source (:func:`stage_build_source`) is staged the same way: exactly what the buildspec and the
Dockerfiles use, from an allowlist, so nothing else of the checkout (virtualenvs, caches, tests) is uploaded.
"""

from __future__ import annotations

import ast
import importlib.metadata
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("axon", "lambdas")
# The sub-package no Lambda imports (the import-linter contract keeps the control plane off it). The local stack
# is a package of its own (``axon_local``), outside both this asset and the serving image's build source.
EXCLUDED_SUBPACKAGES = frozenset({"axon/cli"})
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
# The CodeBuild source and Docker build context of the serving image: the Dockerfiles (model_images/), what the
# axon wheel is built from (pyproject.toml, its readme, axon/, model_images/axon_serving), and at its root the
# buildspec (CodeBuild's default place for it).
BUILD_SOURCE = ("pyproject.toml", "README.md", "axon", "model_images")
BUILDSPEC = "model_images/buildspec.yml"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# Powertools' layers live in this account in every commercial region; version 36 ships Powertools 3.31.1, the
# release pyproject.toml's `lambda` extra pins, so the tests run the Powertools the Lambdas run
# (tests/cdk/test_toolchain.py keeps the two equal).
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 36
POWERTOOLS_LAYER_RELEASE = "3.31.1"
POWERTOOLS_LAYER_VERSION_CONTEXT = "axon:powertoolsLayerVersion"

# What the Lambda Python runtime provides (the SDK and its dependencies).
RUNTIME_MODULES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
# What the managed Powertools layer provides (``aws-lambda-powertools[all]`` and its dependencies).
POWERTOOLS_LAYER_MODULES = frozenset(
    {
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "wrapt",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "fastjsonschema",
        "jsonpath_ng",
        "jwt",
    }
)
# Distributions copied into the dependency layer -> the top-level modules they provide.
LAYER_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {"PyYAML": ("yaml", "_yaml"), "packaging": ("packaging",)}
# Installer bookkeeping that differs between machines (and RECORD would list the dropped compiled files).
_INSTALLER_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_COMPILED_SUFFIXES = frozenset({".so", ".pyd", ".dylib"})


class PackagingError(Exception):
    """The Lambda code cannot be packaged as configured (a dependency no layer provides)."""


def stage_code(dest: Path, root: Path = PROJECT_ROOT) -> Path:
    """Copy the control-plane packages to ``dest`` (compiled caches and excluded sub-packages left out)."""
    for package in CODE_PACKAGES:

        def ignore(directory: str, entries: list[str], package_dir: Path = root / package) -> set[str]:
            relative = Path(directory).relative_to(package_dir.parent)
            excluded = {entry for entry in entries if (relative / entry).as_posix() in EXCLUDED_SUBPACKAGES}
            return excluded | set(_IGNORED(directory, entries))

        shutil.copytree(root / package, dest / package, ignore=ignore)
    return dest


def stage_build_source(dest: Path, root: Path = PROJECT_ROOT) -> Path:
    """Copy :data:`BUILD_SOURCE` from ``root`` to ``dest`` (compiled caches left out), the buildspec to its root."""
    dest.mkdir(parents=True)
    buildspec = root / BUILDSPEC
    for name in BUILD_SOURCE:
        source = root / name
        if source.is_dir():

            def ignore(directory: str, entries: list[str]) -> set[str]:
                moved = {entry for entry in entries if Path(directory, entry) == buildspec}
                return moved | set(_IGNORED(directory, entries))

            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copyfile(source, dest / name)
    shutil.copyfile(buildspec, dest / buildspec.name)
    return dest


def stage_dependency_layer(dest: Path, distributions: Iterable[str] = LAYER_DISTRIBUTIONS) -> Path:
    """Copy the pure-Python files of installed ``distributions`` to ``dest/python`` (the layer's sys.path entry)."""
    site = dest / "python"
    for name in distributions:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            if file.suffix in _COMPILED_SUFFIXES or "__pycache__" in file.parts or file.name in _INSTALLER_FILES:
                continue
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(dist.locate_file(file))), target)
    return dest


def _is_type_checking_block(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module) -> Iterator[str]:
    """Top-level module names imported at run time (imports under ``if TYPE_CHECKING:`` skipped)."""
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and _is_type_checking_block(block)
        for statement in block.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def unprovided_imports(code_dir: Path) -> dict[str, list[str]]:
    """Third-party modules the staged code imports that neither the runtime nor a layer provides."""
    provided = (
        set(sys.stdlib_module_names)
        | set(CODE_PACKAGES)
        | RUNTIME_MODULES
        | POWERTOOLS_LAYER_MODULES
        | {module for modules in LAYER_DISTRIBUTIONS.values() for module in modules}
    )
    missing: dict[str, list[str]] = {}
    for source in sorted(code_dir.rglob("*.py")):
        tree = ast.parse(source.read_text(), filename=str(source))
        for module in _runtime_imports(tree):
            if module not in provided:
                missing.setdefault(module, []).append(source.relative_to(code_dir).as_posix())
    return missing


def check_imports(code_dir: Path) -> None:
    missing = unprovided_imports(code_dir)
    if missing:
        found = "; ".join(f"{module} (imported by {', '.join(files)})" for module, files in sorted(missing.items()))
        raise PackagingError(
            f"Lambda code imports modules no layer provides: {found}. Import them outside the control plane, "
            "or add a pure-Python distribution to LAYER_DISTRIBUTIONS in cdk_app/constructs/packaging.py "
            "(see docs/deploy.md, 'Lambda packaging')."
        )


def powertools_layer_arn(version: int) -> str:
    """Region-aware ARN of the managed Powertools v3 layer for ``RUNTIME`` on ``ARCHITECTURE``."""
    python = RUNTIME.name.replace(".", "")  # python3.14 -> python314
    name = f"AWSLambdaPowertoolsPythonV3-{python}-{ARCHITECTURE.name}"
    return f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_ACCOUNT}:layer:{name}:{version}"


class LambdaPackaging(Construct):
    """The code asset and the layers every axon Lambda shares."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        version = int(self.node.try_get_context(POWERTOOLS_LAYER_VERSION_CONTEXT) or POWERTOOLS_LAYER_VERSION)
        with tempfile.TemporaryDirectory(prefix="axon-lambda-") as tmp:
            code_dir = stage_code(Path(tmp) / "code")
            check_imports(code_dir)
            self.code = lambda_.Code.from_asset(str(code_dir))
            # Bind now so the asset is copied into the cloud assembly while the staging folder exists;
            # every function then reuses this one asset.
            self.code.bind(self)
            self.dependency_layer = lambda_.LayerVersion(
                self,
                "Dependencies",
                code=lambda_.Code.from_asset(str(stage_dependency_layer(Path(tmp) / "layer"))),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"axon Lambda dependencies: {', '.join(LAYER_DISTRIBUTIONS)} (pure Python)",
            )
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(version)
        )

    @property
    def layers(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools_layer, self.dependency_layer]
