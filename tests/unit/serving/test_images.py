"""The Dockerfiles and the buildspec, checked by parsing (there is no Docker engine here).

tests/cdk/test_image_build.py runs the buildspec against the synthesized build source.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from axon.rollout.prepare import IMAGE_RECIPE

IMAGES = Path(__file__).resolve().parents[3] / "model_images"


def _instructions(variant: str) -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(IMAGES / variant / "Dockerfile"))
    return list(parser.structure)


def _values(instructions: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in instructions if i["instruction"] == name]


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_dockerfile_contract(variant: str) -> None:
    instructions = _instructions(variant)
    base, final = _values(instructions, "FROM")
    assert ":" in base and not base.endswith(":latest")  # pinned base (hadolint DL3006/DL3007)
    assert base.endswith(" AS runtime") and final == "runtime"  # the buildspec reads requirements in `runtime`
    assert _values(instructions, "USER")[-1] == "axon"  # non-root at run time
    assert _values(instructions, "ENTRYPOINT") == ['["axon-serve"]']
    assert _values(instructions, "CMD") == ['["serve"]']  # `docker run <image> serve` also works
    assert _values(instructions, "EXPOSE") == ["8080"]
    (healthcheck,) = _values(instructions, "HEALTHCHECK")
    assert "/ping" in healthcheck and "SAGEMAKER_BIND_TO_PORT" in healthcheck


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_requirements_layer_comes_after_the_runtime_and_is_keyed_by_hash(variant: str) -> None:
    instructions = _instructions(variant)
    order = [(i["instruction"], i["value"]) for i in instructions]
    runtime = order.index(("COPY", "axon/ /tmp/axon-src/axon/"))
    requirements = order.index(("COPY", "build/requirements.txt /tmp/requirements.txt"))
    assert runtime < order.index(("FROM", "runtime")) < requirements
    assert "REQUIREMENTS_SHA256=none" in _values(instructions, "ARG")
    assert any("requirements-sha256" in label for label in _values(instructions, "LABEL"))


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_run_lines_follow_hadolint_rules(variant: str) -> None:
    for line in _values(_instructions(variant), "RUN"):
        if "pip install" in line:
            assert "--no-cache-dir" in line  # DL3042
        if "apt-get install" in line:
            assert "--no-install-recommends" in line and "rm -rf /var/lib/apt/lists/*" in line  # DL3015, DL3009
            assert "-y" in line  # DL3014


def test_gpu_image_is_cuda_runtime_with_nvidia_env() -> None:
    instructions = _instructions("gpu")
    assert _values(instructions, "FROM")[0].startswith("nvidia/cuda:") and "runtime" in _values(instructions, "FROM")[0]
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126" in _values(instructions, "ARG")
    env = " ".join(_values(instructions, "ENV"))
    assert "NVIDIA_VISIBLE_DEVICES=all" in env and "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in env


def test_buildspec_exports_the_image_by_digest() -> None:
    spec = yaml.safe_load((IMAGES / "buildspec.yml").read_text())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    assert set(spec["env"]["exported-variables"]) == {"IMAGE_URI", "IMAGE_BUILT"}
    post_build = "\n".join(spec["phases"]["post_build"]["commands"])
    assert 'docker push "${TAGGED_URI}"' in post_build and 'IMAGE_URI="${REPOSITORY_URI}@${DIGEST}"' in post_build


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_packages_come_from_one_index_each(variant: str) -> None:
    """No index is ever added to another (dependency confusion); torch's index serves only torch's lines."""
    instructions = _instructions(variant)
    runs = " ".join(_values(instructions, "RUN"))
    assert "--extra-index-url" not in runs and "--find-links" not in runs
    assert runs.count("--index-url") == 1 and '--no-deps --index-url "$TORCH_INDEX_URL" -r /tmp/torch.txt' in runs
    assert "-c /tmp/constraints.txt -r /tmp/requirements.txt" in runs
    assert "--only-binary=:all:" in runs  # the runtime's own dependencies


def test_no_extra_index_url_anywhere_in_the_repository() -> None:
    root = IMAGES.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    offenders = [
        name
        for name in tracked
        if name.endswith(("Dockerfile", ".yml", ".yaml", ".sh", ".toml", ".cfg", ".txt", "Makefile"))
        and "--extra-index-url" in (root / name).read_text(errors="replace")
    ]
    assert offenders == []


# The recipe the images are built from (comments and blank lines aside). A change to it must bump
# axon.rollout.prepare.IMAGE_RECIPE (so images of the old recipe are not reused), then record the new digest here.
RECIPE_DIGESTS = {"2": "e40c346502510ac2"}


def test_a_changed_build_recipe_bumps_the_image_recipe() -> None:
    digest = hashlib.sha256()
    for name in ("buildspec.yml", "cpu/Dockerfile", "gpu/Dockerfile"):
        lines = (IMAGES / name).read_text().splitlines()
        digest.update("\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#")).encode())
    assert RECIPE_DIGESTS.get(IMAGE_RECIPE) == digest.hexdigest()[:16], (
        "model_images/ changed: bump IMAGE_RECIPE in axon/rollout/prepare.py and record the new digest here"
    )
