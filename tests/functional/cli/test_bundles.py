"""``axon pack`` and ``axon validate``: the Validate step's inspector, offline, with its reason codes."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from axon.cli.app import app
from tests.functional.cli.conftest import one_error_line

PREDICTOR = "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n\n    def predict(self, p):\n        return p\n"


def axon(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "iris"
    root.mkdir()
    (root / "predictor.py").write_text(PREDICTOR)
    (root / "axon.yaml").write_text("name: iris\nrollout: {strategy: canary}\n")
    (root / "requirements.txt").write_text("numpy==2.0\n")
    return root


def test_pack_writes_the_archive_deploy_uploads_and_checks_it(bundle: Path, tmp_path: Path) -> None:
    result = axon("pack", str(bundle), "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    archive = tmp_path / "iris.tar.gz"
    assert view["bundle"] == str(archive) and view["bytes"] == archive.stat().st_size
    assert (view["api"], view["style"], view["strategy"], view["requirements"]) == (
        "iris",
        "python",
        "canary",
        ["numpy==2.0"],
    )
    again = tmp_path / "again.tar.gz"
    assert axon("pack", str(bundle), "--output-file", str(again)).exit_code == 0
    assert again.read_bytes() == archive.read_bytes()  # reproducible: same directory, same bytes


def test_pack_keeps_a_dotted_directory_name_whole(bundle: Path, tmp_path: Path) -> None:
    dotted = bundle.rename(tmp_path / "iris.v2")
    assert axon("pack", str(dotted)).exit_code == 0
    assert (tmp_path / "iris.v2.tar.gz").is_file() and not (tmp_path / "iris.tar.gz").exists()


def test_validate_reads_an_archive_made_by_any_tool(bundle: Path, tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "by-tar.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=".")
    result = axon("validate", str(archive))
    assert result.exit_code == 0, result.output
    assert "valid, the workflow would accept it" in result.stdout


def test_validate_takes_a_sagemaker_artifact_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (tmp_path / "code" / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    (tmp_path / "model.joblib").write_bytes(b"\x00" * 16)
    view = json.loads(axon("validate", str(tmp_path), "-o", "json").stdout)
    assert (view["style"], view["predictor"], view["requirements"]) == (
        "sagemaker",
        "code/inference.py",
        ["scikit-learn==1.5.2"],
    )


@pytest.mark.parametrize(
    ("make", "args", "code"),
    [
        (lambda d, t: (t / "x.tar.gz").write_bytes(b"not gzip") and t / "x.tar.gz", [], "bundle.not_gzip"),
        (lambda d, t: d, ["--api", "other"], "spec.name_mismatch"),
        (lambda d, t: (d / "predictor.py").unlink() or d, [], "bundle.missing_predictor"),
        (lambda d, t: t / "absent", [], "cli.invalid_input"),
    ],
    ids=["not gzip", "name mismatch", "no predictor", "no such path"],
)
def test_a_bundle_the_workflow_would_refuse_is_refused_with_its_code(
    bundle: Path, tmp_path: Path, make: object, args: list[str], code: str
) -> None:
    target = make(bundle, tmp_path)  # type: ignore[operator]
    assert one_error_line(axon("validate", str(target), *args)).startswith(f"error: {code}: ")
