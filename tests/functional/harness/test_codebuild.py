"""Patch 6: CodeBuild builds run an image builder and end SUCCEEDED or FAILED in the shape AWS returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.codebuild.models import CodeBuildBackend
from moto.codebuild.responses import CodeBuildResponse

from axon_local.patches import (
    DEFAULT_ACCOUNT,
    BuildFailedError,
    BuildRequest,
    codebuild_outcomes,
    moto_patches,
)
from tests.functional.harness.conftest import REGION, client

PROJECT = "axon-image-build"
REPOSITORY = "axon-serving"
BEFORE_BUILD = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD"]


def create_project(codebuild: Any, variables: dict[str, str]) -> None:
    codebuild.create_project(
        name=PROJECT,
        source={"type": "NO_SOURCE", "location": "model_images", "buildspec": "model_images/buildspec.yml"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "computeType": "BUILD_GENERAL1_MEDIUM",
            "environmentVariables": [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()],
        },
        serviceRole=f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/build",
    )


def start_build(codebuild: Any, **overrides: str) -> dict[str, Any]:
    variables = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in overrides.items()]
    return dict(codebuild.start_build(projectName=PROJECT, environmentVariablesOverride=variables)["build"])


def get_build(codebuild: Any, build_id: str) -> dict[str, Any]:
    return dict(codebuild.batch_get_builds(ids=[build_id])["builds"][0])


def phases(build: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(phase["phaseType"], phase.get("phaseStatus")) for phase in build["phases"]]


def image_tags(ecr: Any) -> list[str]:
    return [
        tag for image in ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"] for tag in image["imageTags"]
    ]


@pytest.fixture
def built() -> Iterator[list[BuildRequest]]:
    """moto with the patches and an image builder that records its requests."""
    requests: list[BuildRequest] = []
    with mock_aws(), moto_patches(image_builder=requests.append):
        yield requests


def test_overrides_merge_over_the_project_environment_and_reach_the_builder(built: list[BuildRequest]) -> None:
    codebuild = client("codebuild")
    create_project(codebuild, {"AXON_ECR_REPOSITORY": REPOSITORY, "AXON_FLAVOUR": "cpu"})

    started = start_build(codebuild, AXON_FLAVOUR="gpu", AXON_IMAGE_TAG="rt-abc")

    assert started["buildStatus"] == "IN_PROGRESS", "StartBuild answers a queued build, as on AWS"
    expected = {"AXON_ECR_REPOSITORY": REPOSITORY, "AXON_FLAVOUR": "gpu", "AXON_IMAGE_TAG": "rt-abc"}
    assert built == [BuildRequest(PROJECT, started["id"], expected, DEFAULT_ACCOUNT, REGION)]
    build = get_build(codebuild, started["id"])
    assert {v["name"]: v["value"] for v in build["environment"]["environmentVariables"]} == expected
    assert (build["buildStatus"], build["currentPhase"], build["buildComplete"]) == ("SUCCEEDED", "COMPLETED", True)
    assert phases(build) == [
        *((kind, "SUCCEEDED") for kind in [*BEFORE_BUILD, "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING"]),
        ("COMPLETED", None),
    ]


def test_the_default_builder_pushes_the_image_tag(aws: None) -> None:
    codebuild, ecr = client("codebuild"), client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    create_project(codebuild, {"AXON_ECR_REPOSITORY": REPOSITORY})
    with pytest.raises(ClientError) as missing:
        ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": "rt-abc"}])
    assert missing.value.response["Error"]["Code"] == "ImageNotFoundException"

    build = get_build(codebuild, start_build(codebuild, AXON_IMAGE_TAG="rt-abc")["id"])

    assert build["buildStatus"] == "SUCCEEDED"
    found = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": "rt-abc"}])["imageDetails"]
    assert found[0]["imageTags"] == ["rt-abc"] and found[0]["imageDigest"].startswith("sha256:")


def test_the_default_builder_fails_the_push_to_a_missing_repository(aws: None) -> None:
    codebuild = client("codebuild")
    create_project(codebuild, {"AXON_ECR_REPOSITORY": "nowhere"})

    build = get_build(codebuild, start_build(codebuild, AXON_IMAGE_TAG="rt-abc")["id"])

    assert build["buildStatus"] == "FAILED"
    failed = next(phase for phase in build["phases"] if phase.get("phaseStatus") == "FAILED")
    assert failed["phaseType"] == "POST_BUILD" and "nowhere" in failed["contexts"][0]["message"]


def test_a_forced_failure_fails_the_next_build_only_and_pushes_nothing(aws: None) -> None:
    codebuild, ecr = client("codebuild"), client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    create_project(codebuild, {"AXON_ECR_REPOSITORY": REPOSITORY})
    codebuild_outcomes.fail_next_build("docker login failed", phase="PRE_BUILD")

    failed = get_build(codebuild, start_build(codebuild, AXON_IMAGE_TAG="rt-abc")["id"])

    assert (failed["buildStatus"], failed["currentPhase"], failed["buildComplete"]) == ("FAILED", "COMPLETED", True)
    assert phases(failed) == [
        *((kind, "SUCCEEDED") for kind in BEFORE_BUILD[:-1]),
        ("PRE_BUILD", "FAILED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ], "a failed PRE_BUILD skips to FINALIZING"
    pre_build = failed["phases"][len(BEFORE_BUILD) - 1]
    assert pre_build["contexts"] == [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "docker login failed"}]
    assert image_tags(ecr) == []

    assert get_build(codebuild, start_build(codebuild, AXON_IMAGE_TAG="rt-abc")["id"])["buildStatus"] == "SUCCEEDED"
    assert image_tags(ecr) == ["rt-abc"]


def test_a_builder_failing_in_build_still_runs_post_build_and_upload() -> None:
    def broken(_request: BuildRequest) -> None:
        raise BuildFailedError("BUILD", "pip: no matching distribution for torch==9.9")

    with mock_aws(), moto_patches(image_builder=broken):
        codebuild = client("codebuild")
        create_project(codebuild, {})
        build = get_build(codebuild, start_build(codebuild)["id"])

    assert build["buildStatus"] == "FAILED"
    assert phases(build)[len(BEFORE_BUILD) :] == [
        ("BUILD", "FAILED"),
        ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]
    assert (
        build["phases"][len(BEFORE_BUILD)]["contexts"][0]["message"] == "pip: no matching distribution for torch==9.9"
    )


def test_an_asynchronous_build_is_in_progress_until_its_builder_returns() -> None:
    release = threading.Event()

    def slow(_request: BuildRequest) -> None:
        assert release.wait(timeout=30), "the test never released the builder"

    with mock_aws(), moto_patches(image_builder=slow, synchronous_builds=False):
        codebuild = client("codebuild")
        create_project(codebuild, {})
        build_id = start_build(codebuild)["id"]

        running = get_build(codebuild, build_id)
        assert (running["buildStatus"], running["currentPhase"], running["buildComplete"]) == (
            "IN_PROGRESS",
            "BUILD",
            False,
        )
        assert phases(running)[-1] == ("BUILD", None), "the running phase has no status yet"

        release.set()
        deadline = time.monotonic() + 30
        while (build := get_build(codebuild, build_id))["buildStatus"] == "IN_PROGRESS":
            assert time.monotonic() < deadline, "the build never finished"
            time.sleep(0.02)

    assert (build["buildStatus"], build["currentPhase"]) == ("SUCCEEDED", "COMPLETED")


def test_uninstall_gives_moto_its_own_builds_back() -> None:
    patched = [
        (CodeBuildBackend, "start_build"),
        (CodeBuildBackend, "batch_get_builds"),
        (CodeBuildResponse, "start_build"),
    ]
    before = [vars(owner)[name] for owner, name in patched]
    with moto_patches():
        assert all(vars(owner)[name] is not old for (owner, name), old in zip(patched, before, strict=True))

    assert [vars(owner)[name] for owner, name in patched] == before
    with mock_aws():
        codebuild = client("codebuild")
        create_project(codebuild, {})
        build = get_build(codebuild, start_build(codebuild, AXON_IMAGE_TAG="ignored")["id"])
    assert build["buildStatus"] == "SUCCEEDED" and build["environment"]["environmentVariables"] == []


def test_a_failure_names_a_buildspec_phase() -> None:
    with pytest.raises(ValueError, match="phase"):
        codebuild_outcomes.fail_next_build("nope", phase="COMPLETED")
