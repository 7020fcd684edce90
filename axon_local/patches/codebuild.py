"""Patch 6: CodeBuild builds that really run an image builder, and really succeed or fail.

Gap: moto's StartBuild ignores ``environmentVariablesOverride`` and runs nothing; the first BatchGetBuilds
already says ``SUCCEEDED``, a build can never fail, and nothing is pushed to ECR. Fix: StartBuild records the
project's environment variables with the request's overrides merged over them, and runs the image builder of
:class:`~axon_local.patches.options.PatchOptions` (inside the call, or on a daemon thread); BatchGetBuilds answers
``IN_PROGRESS`` in phase ``BUILD`` while it runs, then ``SUCCEEDED``, or ``FAILED`` when it raised
:class:`~axon_local.patches.options.BuildFailedError`. The default builder does what the buildspec's
``docker push`` leaves behind: an image tagged ``AXON_IMAGE_TAG`` in the ECR repository ``AXON_ECR_REPOSITORY``.
Faithful: the phase list, ``currentPhase``, ``buildComplete`` and a failed phase's ``contexts``
(``COMMAND_EXECUTION_ERROR``) have the shape AWS returns; a failed INSTALL or PRE_BUILD skips to FINALIZING, a
failed BUILD still runs POST_BUILD and UPLOAD_ARTIFACTS, as CodeBuild's phase transitions do.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from axon import names
from axon_local.patches import _registry
from axon_local.patches.options import BuildFailedError, BuildRequest, ImageBuilder

_log = logging.getLogger(__name__)

REPOSITORY_VARIABLE = "AXON_ECR_REPOSITORY"
TAG_VARIABLE = "AXON_IMAGE_TAG"

_PHASES = (
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
)
# The phases CodeBuild runs after a phase's commands end: after BUILD whether it succeeded or failed, after a
# failed INSTALL or PRE_BUILD straight to FINALIZING (CodeBuild's documented phase transitions).
_RUNS_AFTER = {
    "INSTALL": ("FINALIZING",),
    "PRE_BUILD": ("FINALIZING",),
    "BUILD": ("POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING"),
    "POST_BUILD": ("UPLOAD_ARTIFACTS", "FINALIZING"),
}

# Guards the build records (moto's own dicts) that builder threads finish while BatchGetBuilds reads them.
_lock = threading.Lock()
_managed: set[str] = set()
"""Ids of the builds this patch runs; BatchGetBuilds leaves any other build to moto."""


class CodeBuildOutcomes:
    """Test control: make the next build fail.

    Examples
    --------
    >>> codebuild_outcomes.fail_next_build("pip: no matching distribution for torch==9.9")
    >>> codebuild_outcomes.fail_next_build("docker login failed", phase="PRE_BUILD")
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: BuildFailedError | None = None

    def fail_next_build(self, message: str, phase: str = "BUILD") -> None:
        """The next build of any project ends ``FAILED`` in ``phase`` with ``message``; its builder never runs."""
        failure = BuildFailedError(phase, message)
        with self._lock:
            self._next = failure

    def clear(self) -> None:
        with self._lock:
            self._next = None

    def _take(self) -> BuildFailedError | None:
        with self._lock:
            failure, self._next = self._next, None
            return failure


codebuild_outcomes = CodeBuildOutcomes()


def apply() -> None:
    from moto.codebuild.models import CodeBuildBackend
    from moto.codebuild.responses import CodeBuildResponse

    _registry.patch(CodeBuildResponse, "start_build", _start_build_response)
    _registry.patch(CodeBuildBackend, "start_build", _start_build)
    _registry.patch(CodeBuildBackend, "batch_get_builds", _batch_get_builds)


def reset() -> None:
    """Forget forced outcomes and which builds were run here (install and uninstall call it)."""
    codebuild_outcomes.clear()
    with _lock:
        _managed.clear()


def _moto(name: str) -> Any:
    """moto's own ``CodeBuildBackend`` method that a patch wraps."""
    from moto.codebuild.models import CodeBuildBackend

    return _registry.original(CodeBuildBackend, name)


def _start_build_response(self: Any) -> Any:
    """``CodeBuildResponse.start_build`` with ``environmentVariablesOverride`` passed on (moto drops it)."""
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.codebuild.responses import _validate_required_params_project_name
    from moto.core.responses import ActionResult
    from moto.utilities.utils import get_partition

    name = self._get_param("projectName")
    _validate_required_params_project_name(name)
    if name not in self.codebuild_backend.codebuild_projects:
        arn = f"arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:project/{name}"
        raise ResourceNotFoundException(f"Project cannot be found: {arn}")
    build = self.codebuild_backend.start_build(
        name,
        self._get_param("sourceVersion"),
        self._get_param("artifactsOverride"),
        self._get_param("environmentVariablesOverride"),
    )
    return ActionResult({"build": build})


def _start_build(
    self: Any,
    project_name: str,
    source_version: str | None = None,
    artifact_override: dict[str, Any] | None = None,
    environment_variables_override: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Wraps ``CodeBuildBackend.start_build``: record the build's environment, then run the image builder.

    Answers what StartBuild answers on AWS, a build ``IN_PROGRESS`` that has just been queued, even when the
    builder already ran (``synchronous_builds``).
    """
    build: dict[str, Any] = _moto("start_build")(self, project_name, source_version, artifact_override)
    project_environment = self.codebuild_projects[project_name].project_metadata["environment"]
    variables = _merged(project_environment.get("environmentVariables") or [], environment_variables_override or [])
    request = BuildRequest(
        project_name=project_name,
        build_id=build["id"],
        environment=MappingProxyType({variable["name"]: variable["value"] for variable in variables}),
        account=self.account_id,
        region=self.region_name,
    )
    with _lock:
        build["environment"] = {**copy.deepcopy(project_environment), "environmentVariables": variables}
        answer = copy.deepcopy(build)
        _managed.add(build["id"])
        _set_running(build)
    forced = codebuild_outcomes._take()
    builder = _forced(forced) if forced else _registry.options.image_builder or push_placeholder_image
    if _registry.options.synchronous_builds:
        _run(build, request, builder)
    else:
        threading.Thread(target=_run, args=(build, request, builder), name=f"build-{build['id']}", daemon=True).start()
    return answer


def _merged(project: list[dict[str, str]], override: list[dict[str, str]]) -> list[dict[str, str]]:
    """The project's variables with same-named overrides replacing them and new ones appended."""
    by_name = {variable["name"]: dict(variable) for variable in project}
    by_name.update({variable["name"]: dict(variable) for variable in override})
    return list(by_name.values())


def _forced(failure: BuildFailedError) -> ImageBuilder:
    def fail(_request: BuildRequest) -> None:
        raise failure

    return fail


def _run(build: dict[str, Any], request: BuildRequest, builder: ImageBuilder) -> None:
    failure: BuildFailedError | None = None
    try:
        builder(request)
    except BuildFailedError as exc:
        failure = exc
    except Exception as exc:  # a broken builder fails the build instead of leaving it IN_PROGRESS forever
        _log.warning("image builder of build %s raised", request.build_id, exc_info=True)
        failure = BuildFailedError("BUILD", f"{type(exc).__name__}: {exc}")
    with _lock:
        _set_finished(build, failure)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _phase(kind: str, status: str | None, start: str, end: str | None = None) -> dict[str, Any]:
    phase: dict[str, Any] = {"phaseType": kind, "startTime": start}
    if status is not None:
        phase["phaseStatus"] = status
    if end is not None:
        phase["endTime"] = end
        elapsed = datetime.fromisoformat(end) - datetime.fromisoformat(start)
        phase["durationInSeconds"] = int(elapsed.total_seconds())
    return phase


def _set_running(build: dict[str, Any]) -> None:
    """Every phase before BUILD succeeded at once; BUILD runs (no status yet), as AWS shows a running phase."""
    now = _now()
    build["phases"] = [_phase(kind, "SUCCEEDED", now, now) for kind in _PHASES[: _PHASES.index("BUILD")]]
    build["phases"].append(_phase("BUILD", None, now))
    build["currentPhase"] = "BUILD"
    build["buildStatus"] = "IN_PROGRESS"
    build["buildComplete"] = False


def _set_finished(build: dict[str, Any], failure: BuildFailedError | None) -> None:
    """The phases the build went through: the builder's last phase ``SUCCEEDED`` (BUILD) or ``FAILED`` with its
    context, the phases CodeBuild runs after it, then ``COMPLETED``."""
    started, now = build["phases"][-1]["startTime"], _now()
    last = "BUILD" if failure is None else failure.phase
    done = [phase for phase in build["phases"][:-1] if _PHASES.index(phase["phaseType"]) < _PHASES.index(last)]
    done += [_phase(kind, "SUCCEEDED", started, now) for kind in _PHASES[_PHASES.index("BUILD") : _PHASES.index(last)]]
    outcome = _phase(last, "SUCCEEDED" if failure is None else "FAILED", started, now)
    if failure is not None:
        outcome["contexts"] = [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": failure.message}]
    after = [_phase(kind, "SUCCEEDED", now, now) for kind in _RUNS_AFTER[last]]
    build["phases"] = [*done, outcome, *after, _phase("COMPLETED", None, now)]
    build["currentPhase"] = "COMPLETED"
    build["buildStatus"] = "SUCCEEDED" if failure is None else "FAILED"
    build["buildComplete"] = True
    build["endTime"] = now


def _batch_get_builds(self: Any, ids: list[str]) -> list[dict[str, Any]]:
    """Wraps ``CodeBuildBackend.batch_get_builds``, which marks every build ``SUCCEEDED`` when read.

    Builds run here are answered as they are (a snapshot, since a builder thread may be finishing them);
    others go to moto unchanged.
    """
    with _lock:
        builds = {build["id"]: build for history in self.build_metadata_history.values() for build in history}
        ours = [copy.deepcopy(builds[build_id]) for build_id in ids if build_id in _managed and build_id in builds]
        others = [build_id for build_id in ids if build_id not in _managed]
    return ours + (_moto("batch_get_builds")(self, others) if others else [])


def push_placeholder_image(request: BuildRequest) -> None:
    """The default image builder: the image the buildspec's ``docker push`` would leave in moto's ECR.

    The manifest is a valid Docker image manifest (schema 2, no layers) whose config names the build, and its
    digest is the manifest's sha256, as a registry computes it. A missing tag fails BUILD (``docker build
    --tag`` refuses it); a missing repository or an immutable tag that exists fails POST_BUILD (the push).
    """
    from moto.core.exceptions import ServiceException
    from moto.ecr.models import ecr_backends

    repository = request.environment.get(REPOSITORY_VARIABLE, names.ECR_REPOSITORY)
    tag = request.environment.get(TAG_VARIABLE, "")
    if not tag:
        raise BuildFailedError("BUILD", f"invalid reference format: {TAG_VARIABLE} is not set")
    backend = ecr_backends[request.account][request.region]
    if repository not in backend.repositories:
        raise BuildFailedError(
            "POST_BUILD",
            f"name unknown: The repository with name '{repository}' does not exist in the registry with id "
            f"'{request.account}'",
        )
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": _labels(request)}})
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": _sha256(config),
            },
            "layers": [],
        }
    )
    try:
        backend.put_image(repository, manifest, tag, digest=_sha256(manifest))
    except ServiceException as exc:
        raise BuildFailedError("POST_BUILD", f"{exc.code}: {exc.message}") from exc


def _labels(request: BuildRequest) -> Mapping[str, str]:
    return {"axon.build-id": request.build_id, "axon.project": request.project_name}


def _sha256(text: str) -> str:
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"
