"""The single-file CLI (``make zipapp``) installs nothing and runs in a clean environment: no virtualenv, no
site-packages, no AWS settings, only a Python interpreter and ``dist/axon.pyz``."""

import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[3]
ZIPAPP = ROOT / "dist" / "axon.pyz"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@pytest.fixture(scope="module")
def zipapp() -> Path:
    built = subprocess.run(["make", "zipapp"], cwd=ROOT, capture_output=True, text=True, timeout=540, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    return ZIPAPP


def _run(zipapp: Path, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -I axon.pyz ARGS`` with the base interpreter (not this virtualenv's) and an empty environment."""
    clean = {"HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})}
    command = [sys._base_executable, "-I", str(zipapp), *args]
    return subprocess.run(command, env=clean, capture_output=True, text=True, timeout=120, check=False)


def test_the_single_file_cli_runs_without_any_installation(zipapp: Path, tmp_path: Path) -> None:
    assert _run(zipapp, tmp_path, "--version").stdout.strip() == "axon 0.1.0"
    help_text = _run(zipapp, tmp_path, "--help").stdout
    assert all(verb in help_text for verb in ("deploy", "get", "history", "rollback", "delete", "info", "local"))
    # boto3, discovery and the one-line errors work from the zipapp: an unreachable endpoint is a clear error.
    unreachable = _run(zipapp, tmp_path, "--endpoint-url", "http://127.0.0.1:9", "get", env=LOCAL_CREDENTIALS)
    assert unreachable.returncode == 1
    assert unreachable.stderr.strip() == "error: cannot reach http://127.0.0.1:9/: is it running?"


def test_the_zipapp_holds_the_cli_not_the_local_stack_or_serving_dependencies(zipapp: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(zipapp) as archive:
        names = archive.namelist()
    packages = {name.split("/")[1] for name in names if name.startswith("site-packages/") and name.count("/") > 1}
    assert {"axon", "boto3", "botocore", "pydantic", "typer", "rich", "yaml"} <= packages
    assert not packages & {"moto", "uvicorn", "numpy", "aws_lambda_powertools", "aws_cdk", "orjson"}
    local = _run(zipapp, tmp_path, "local", "up")
    assert local.returncode == 1
    assert (
        "`axon local up` needs the local stack's extra" in local.stderr and "pipx install 'axon[local]'" in local.stderr
    )


PLATFORMS = ("manylinux2014_x86_64", "manylinux2014_aarch64", "macosx_11_0_x86_64", "macosx_11_0_arm64")


def test_the_cli_installs_from_wheels_only_on_linux_and_macos_x86_64_and_arm64(zipapp: Path, tmp_path: Path) -> None:
    """What `pipx install axon` resolves on each platform, at the oldest Python axon supports: no sdist, no compiler.
    The four resolutions run side by side (each mostly waits on the package index)."""
    [wheel] = (ROOT / "build" / "zipapp").glob("axon-*.whl")

    def resolve(platform: str) -> tuple[str, subprocess.CompletedProcess[str], set[str]]:
        target = tmp_path / platform
        command = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--platform", platform]
        command += ["--python-version", "3.11.4", "--implementation", "cp", "-d", str(target), str(wheel)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        return platform, done, {p.name.split("-")[0].lower() for p in target.glob("*.whl")}

    with ThreadPoolExecutor(max_workers=len(PLATFORMS)) as pool:
        for platform, done, wheels in pool.map(resolve, PLATFORMS):
            assert done.returncode == 0, (platform, done.stderr)
            assert wheels >= {"pydantic_core", "pyyaml", "boto3"}, platform
