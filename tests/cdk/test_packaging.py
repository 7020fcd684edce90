"""Lambda packaging without Docker, and the house IAM rules, checked without a synth."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cdk_app.aspects.least_privilege import violations
from cdk_app.constructs.packaging import (
    LAYER_DISTRIBUTIONS,
    stage_code,
    stage_dependency_layer,
    unprovided_imports,
)

pytestmark = pytest.mark.xdist_group("cdk")


def test_code_asset_holds_the_control_plane_without_cli_local_or_caches(tmp_path: Path) -> None:
    staged = stage_code(tmp_path / "code")
    assert (staged / "axon" / "functions.py").is_file()
    assert (staged / "lambdas").is_dir()
    assert not (staged / "axon" / "cli").exists()
    assert not (staged / "axon_local").exists()
    assert not list(staged.rglob("__pycache__"))
    assert {p.name for p in staged.iterdir()} == {"axon", "lambdas"}


def test_the_code_asset_imports_nothing_the_runtime_or_layers_lack(tmp_path: Path) -> None:
    assert unprovided_imports(stage_code(tmp_path / "code")) == {}


def test_an_import_no_layer_provides_is_reported_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "step.py").write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            import json, boto3, yaml
            from typing import TYPE_CHECKING
            from . import sibling
            from aws_lambda_powertools import Logger
            if TYPE_CHECKING:
                from mypy_boto3_s3 import S3Client
            def handler(event, context):
                import orjson
                return orjson.dumps(event)
            """
        )
    )
    assert unprovided_imports(tmp_path) == {"orjson": ["lambdas/step.py"]}


def test_dependency_layer_is_pure_python_and_imports_on_a_bare_interpreter(tmp_path: Path) -> None:
    site = stage_dependency_layer(tmp_path / "layer") / "python"
    assert not [p for p in site.rglob("*") if p.suffix in {".so", ".pyd"}]
    modules = [m for ms in LAYER_DISTRIBUTIONS.values() for m in ms if (site / m).is_dir() and m != "_yaml"]
    probe = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import yaml, {', '.join(modules)}; "
        "assert not yaml.__with_libyaml__; print(yaml.safe_load('a: [1, 2]'))"
    )
    # -S: no site-packages, so only the standard library and the staged layer are importable.
    result = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "{'a': [1, 2]}"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:x"}, ["action * grants a whole service"]),
        ({"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:x"}, ["action s3:* grants a whole service"]),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, ["action s3:GetObject on Resource '*'"]),
        ({"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}, []),
        ({"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::b/apis/*"}, []),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, []),
    ],
)
def test_house_iam_rules(statement: dict[str, object], expected: list[str]) -> None:
    assert violations({"Statement": [statement]}) == expected
