"""Workflow steps before any traffic moves: validate the bundle, then resolve or build its serving image."""

from __future__ import annotations

from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from axon import names
from axon.bundle import inspect_bundle
from axon.deps import Deps
from axon.registry import VersionStatus
from axon.rollout.image import flavour_of, image_key_of
from axon.rollout.replica_cap import check_replica_cap
from axon.rollout.state import ImageBuildFailedError, RolloutState, StaleRolloutError
from axon.rollout.versions import immutable_bundle_key, spec_digest, spec_of
from axon.spec.policy import check_policy

# Server-side copy in large parts, many at once: a 20 GiB bundle is 80 UploadPartCopy calls.
_COPY_CONFIG = TransferConfig(
    multipart_threshold=256 * 1024 * 1024, multipart_chunksize=256 * 1024 * 1024, max_concurrency=16
)
_BUILD_FAILED = {"FAILED", "FAULT", "TIMED_OUT", "STOPPED"}


def _check_lease(deps: Deps, state: RolloutState) -> None:
    api = deps.registry.get_api(state.api)
    if api is None or api.lease_owner != state.execution:
        raise StaleRolloutError(f"execution {state.execution} does not hold the rollout lease of {state.api}")


def validate(deps: Deps, state: RolloutState) -> RolloutState:
    """Stream the bundle once through the inspector; never load or run user code. Then pin an immutable copy."""
    _check_lease(deps, state)
    record = deps.registry.set_status(state.api, state.seq, VersionStatus.VALIDATING, "validating the bundle")
    s3 = deps.client("s3")
    body = s3.get_object(Bucket=record.bucket, Key=record.key, VersionId=record.version_id)["Body"]
    try:
        report = inspect_bundle(body, api=state.api, limits=deps.settings.bundle_limits)
    finally:
        body.close()
    spec = report.spec
    deps.platform_for(spec.compute.platform)  # refuse a platform this deployment cannot serve before any build
    check_policy(spec, deps.settings.deploy_policy)  # instance types and max_replicas this deployment admits
    check_replica_cap(
        state.api, spec, registry=deps.registry, platform_for=deps.platform_for, cap=deps.settings.max_total_replicas
    )
    copy_key = immutable_bundle_key(state.api, record.version)
    s3.copy(
        {"Bucket": record.bucket, "Key": record.key, "VersionId": record.version_id},
        record.bucket,
        copy_key,
        Config=_COPY_CONFIG,
    )
    deps.registry.record_validation(
        state.api,
        state.seq,
        spec=spec,
        spec_digest=spec_digest(spec),
        image_key=image_key_of(spec, report.requirements_text),
        model_data_uri=f"s3://{record.bucket}/{copy_key}",
    )
    deps.registry.add_event(
        state.api, state.seq, "validated", f"{report.member_count} files, predictor {report.predictor_path}"
    )
    return state


def _image_uri(deps: Deps, tag: str) -> str | None:
    ecr = deps.client("ecr")
    try:
        ecr.describe_images(repositoryName=deps.settings.ecr_repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ImageNotFoundException":
            return None
        raise
    repository = ecr.describe_repositories(repositoryNames=[deps.settings.ecr_repository])["repositories"][0]
    return f"{repository['repositoryUri']}:{tag}"


def resolve_image(deps: Deps, state: RolloutState) -> RolloutState:
    """Reuse the content-addressed image when ECR has its tag; otherwise start one CodeBuild build."""
    record = deps.registry.get_version(state.api, state.seq)
    tag = names.image_tag(record.image_key)
    uri = _image_uri(deps, tag)
    if uri is not None:
        deps.registry.set_image(state.api, state.seq, uri)
        deps.registry.add_event(state.api, state.seq, "image", f"reusing image {uri} (no build)")
        return state.model_copy(update={"build_status": "SUCCEEDED"})
    flavour = flavour_of(spec_of(record))
    build = deps.client("codebuild").start_build(
        projectName=deps.settings.codebuild_project,
        environmentVariablesOverride=[
            {"name": "AXON_API", "value": state.api, "type": "PLAINTEXT"},
            {"name": "AXON_IMAGE_TAG", "value": tag, "type": "PLAINTEXT"},
            {"name": "AXON_FLAVOUR", "value": flavour, "type": "PLAINTEXT"},
            {"name": "AXON_BUNDLE_URI", "value": record.model_data_uri, "type": "PLAINTEXT"},
        ],
    )["build"]
    deps.registry.set_status(
        state.api, state.seq, VersionStatus.BUILDING, f"building {flavour} image {tag} (build {build['id']})"
    )
    return state.model_copy(update={"build_id": build["id"], "build_status": "IN_PROGRESS"})


def check_build(deps: Deps, state: RolloutState) -> RolloutState:
    """One poll of the CodeBuild build; the state machine's Wait/Choice loop calls it until it ends."""
    assert state.build_id is not None, "check_build runs only after a build started"
    build = deps.client("codebuild").batch_get_builds(ids=[state.build_id])["builds"][0]
    status = build["buildStatus"]
    if status in _BUILD_FAILED:
        failed_phase: dict[str, Any] = next(
            (p for p in build.get("phases", []) if p.get("phaseStatus") in _BUILD_FAILED),
            {"phaseType": "BUILD", "contexts": []},
        )
        detail = "; ".join(c.get("message", "") for c in failed_phase.get("contexts", []) if c.get("message"))
        raise ImageBuildFailedError(
            f"image build {state.build_id} ended {status} in phase {failed_phase.get('phaseType')}"
            + (f": {detail}" if detail else "")
        )
    if status != "SUCCEEDED":
        return state.model_copy(update={"build_status": "IN_PROGRESS"})
    record = deps.registry.get_version(state.api, state.seq)
    uri = _image_uri(deps, names.image_tag(record.image_key))
    if uri is None:
        raise ImageBuildFailedError(f"build {state.build_id} succeeded but pushed no image tagged for this version")
    deps.registry.set_image(state.api, state.seq, uri)
    deps.registry.add_event(state.api, state.seq, "image", f"built image {uri}")
    return state.model_copy(update={"build_status": "SUCCEEDED"})
