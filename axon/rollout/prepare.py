"""Workflow steps before any traffic moves: validate the bundle (the deploy policy and the platform-wide replica
cap included), then resolve or build its serving image.

Serving images are content-addressed: unchanged runtime, flavour and requirements never rebuild.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from axon import __version__, names
from axon.autoscaler.live import ApiLister, live_apis
from axon.bundle import inspect_bundle
from axon.deps import Deps
from axon.errors import AxonError
from axon.names import immutable_bundle_key
from axon.platforms.base import Platform
from axon.registry import VersionStatus
from axon.rollout.release import spec_of
from axon.rollout.state import ImageBuildFailedError, RolloutState, StaleRolloutError
from axon.spec import ApiSpec
from axon.spec.policy import check_policy

Flavour = Literal["cpu", "gpu"]
# The build recipe (model_images/: Dockerfiles and buildspec). Bump it whenever a recipe change must not reuse the
# images built before it: tests/unit/serving/test_images.py fails until the recorded digest and this agree.
IMAGE_RECIPE = "2"
_GPU_INSTANCE_FAMILIES = ("g4", "g5", "g6", "g7", "p2", "p3", "p4", "p5", "p6", "inf", "trn")


def flavour_of(spec: ApiSpec) -> Flavour:
    """GPU image when the spec asks for GPUs or the instance family has them."""
    if spec.compute.gpu > 0:
        return "gpu"
    family = spec.compute.instance_type.removeprefix("ml.").split(".", 1)[0]
    return "gpu" if family.startswith(_GPU_INSTANCE_FAMILIES) else "cpu"


def image_key(
    flavour: Flavour,
    requirements_text: str,
    runtime_version: str = __version__,
    *,
    allow_source_builds: bool = False,
    recipe: str = IMAGE_RECIPE,
) -> str:
    """16 hex chars of sha256(runtime version, build recipe, flavour, build policy, requirements).

    ``requirements_text`` is the bundle's canonical requirements (``BundleReport.requirements_text``: inspection
    normalizes them, once); their lines are hashed in order, since pip resolves in order. The policy is part of
    the key so that an image built from source distributions is never reused for a bundle that asked for binary
    wheels only (and the reverse).

    Examples
    --------
    >>> image_key("cpu", "numpy==2.0\\n") == image_key("cpu", "numpy==2.0")
    True
    """
    policy = "source-builds=allowed\n" if allow_source_builds else ""
    material = f"axon-runtime={runtime_version}\nrecipe={recipe}\nflavour={flavour}\n{policy}" + "\n".join(
        requirements_text.splitlines()
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def image_key_of(spec: ApiSpec, requirements_text: str) -> str:
    """The image key of a validated bundle: its flavour, its build policy and its requirements."""
    return image_key(flavour_of(spec), requirements_text, allow_source_builds=spec.build.allow_source_builds)


def spec_digest(spec: ApiSpec) -> str:
    """The version's ``spec_digest``: the first 16 hex digits of the SHA-256 of its JSON dump, keys sorted."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


class ReplicaCapError(AxonError):
    """Deploying this version would run more replicas than the platform-wide cap allows."""

    code = "rollout.replica_cap"


class ServingChangeError(AxonError):
    """The new version would serve on another platform or as another kind than the live one."""

    code = "rollout.serving_change"


def check_same_serving(api: str, spec: ApiSpec, live: ApiSpec | None) -> None:
    """Refuse (``rollout.serving_change``) a version whose ``compute.platform`` or ``kind`` differs from the live
    version's: a blue-green rollout moves traffic between two fleets of one endpoint or one service; it cannot move
    it from a SageMaker endpoint to an ECS service, nor from requests to a queue (SageMaker's async endpoints take no
    InvokeEndpoint; an ECS async version has no target group), and a half-done switch would strand the live version.
    Refused at Validate, before anything is built or created: the live version keeps serving."""
    if live is None:
        return
    before, after = (live.compute.platform, live.kind), (spec.compute.platform, spec.kind)
    if before != after:
        raise ServingChangeError(
            f"{api} is live as kind: {before[1]} on {before[0]}; the new version is kind: {after[1]} on {after[0]}, "
            f"which a rollout cannot switch to: `axon delete {api}` first, or deploy it under another name"
        )


def starting_replicas(spec: ApiSpec, current: int) -> int:
    """Replicas the new version starts with: the live count (blue-green keeps it), else ``init_replicas``,
    within the spec's bounds; as both platforms size a new variant or service."""
    autoscaling = spec.autoscaling
    return min(max(current or spec.init_replicas, autoscaling.min_replicas, 1), autoscaling.max_replicas)


def check_replica_cap(
    api: str, spec: ApiSpec, *, registry: ApiLister, platform_for: Callable[[str], Platform], cap: int
) -> None:
    """Refuse (``rollout.replica_cap``) a deploy of ``api`` that would take the platform past ``cap`` replicas.

    The autoscaler keeps its own scale-outs within the cap (``axon.autoscaler.tick``), but a deploy starts replicas
    without it: an API's first version, or one that raises ``min_replicas``. So validation, before anything is
    built or started, adds the replicas the new version will start with to those every other live API runs now. A
    deploy that does not grow its API's count is never refused, so a fix can always ship even when the platform is
    over the cap (after the cap was lowered, say). Not covered: two first deploys validated at the same moment each
    see the other's API as not yet live.
    """
    counts: dict[str, int] = {}
    for live in live_apis(registry):
        capacity = platform_for(live.platform).capacity(live.api)
        counts[live.api] = capacity.requested if capacity is not None else 0
    current = counts.pop(api, 0)
    planned = starting_replicas(spec, current)
    others = sum(counts.values())
    if planned > current and others + planned > cap:
        raise ReplicaCapError(
            f"deploying {api} starts {planned} replicas; with the {others} replicas other APIs run, that is over the "
            f"platform-wide cap of {cap} (AXON_MAX_TOTAL_REPLICAS): lower autoscaling.min_replicas or raise the cap"
        )


# Server-side copy in large parts, many at once: a 20 GiB bundle is 80 UploadPartCopy calls.
_COPY_CONFIG = TransferConfig(
    multipart_threshold=256 * 1024 * 1024, multipart_chunksize=256 * 1024 * 1024, max_concurrency=16
)
_BUILD_FAILED = {"FAILED", "FAULT", "TIMED_OUT", "STOPPED"}


def _live_spec(deps: Deps, api: str) -> ApiSpec | None:
    record = deps.registry.get_api(api)
    if record is None or record.live_seq is None:
        return None
    return spec_of(deps.registry.get_version(api, record.live_seq))


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
    check_same_serving(state.api, spec, _live_spec(deps, state.api))
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
