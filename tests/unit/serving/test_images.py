"""The Dockerfiles and the buildspec, checked by parsing (there is no Docker engine here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

IMAGES = Path(__file__).resolve().parents[3] / "model_images"


def _instructions(variant: str) -> list[dict[str, Any]]:
    parser = DockerfileParser(path=str(IMAGES / variant / "Dockerfile"))
    return list(parser.structure)


def _values(instructions: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in instructions if i["instruction"] == name]


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_dockerfile_contract(variant: str) -> None:
    instructions = _instructions(variant)
    (base,) = _values(instructions, "FROM")
    assert ":" in base and not base.endswith(":latest")  # pinned base (hadolint DL3006/DL3007)
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
    runtime = order.index(("COPY", "dist/ /tmp/dist/"))
    requirements = order.index(("COPY", "requirements.txt /tmp/requirements.txt"))
    assert runtime < requirements
    assert "REQUIREMENTS_SHA256" in _values(instructions, "ARG")[0]
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
    env = " ".join(_values(instructions, "ENV"))
    assert "NVIDIA_VISIBLE_DEVICES=all" in env and "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in env


def test_buildspec_skips_existing_tags_and_pushes_the_content_addressed_one() -> None:
    spec = yaml.safe_load((IMAGES / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    pre_build = "\n".join(spec["phases"]["pre_build"]["commands"])
    build = "\n".join(spec["phases"]["build"]["commands"])
    post_build = "\n".join(spec["phases"]["post_build"]["commands"])
    assert (
        'aws ecr describe-images --repository-name "${AXON_ECR_REPOSITORY}" --image-ids "imageTag=${AXON_IMAGE_TAG}"'
        in pre_build
    )
    assert 'if [ "${IMAGE_BUILT}" = true ]' in build and "model_images/${AXON_FLAVOUR}/Dockerfile" in build
    assert 'docker push "${IMAGE_URI}"' in post_build and "IMAGE_BUILT" in post_build
    assert set(spec["env"]["exported-variables"]) == {"IMAGE_URI", "IMAGE_BUILT"}
    for variant in ("cpu", "gpu"):
        assert (IMAGES / variant / "Dockerfile").is_file()
