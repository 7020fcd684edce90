"""``inspect_bundle``: the Validate step's whole check of an uploaded bundle, in one streamed pass."""

from __future__ import annotations

from axon.bundle.archive import walk_bundle
from axon.bundle.errors import AmbiguousRequirementsError
from axon.bundle.limits import DEFAULT_LIMITS, BundleLimits
from axon.bundle.predictor import check_python_predictor, check_sagemaker_predictor
from axon.bundle.report import BundleReport
from axon.bundle.requirements import parse_requirements, requirements_text
from axon.bundle.stream import ByteSource
from axon.bundle.texts import REQUIREMENTS_FILE, SAGEMAKER_REQUIREMENTS_FILE, TextKeeper, predictor_path
from axon.spec import ApiSpec, SpecNameMismatchError
from axon.spec.bundle_files import spec_of_bundle
from axon.spec.duration import check_rollout_duration


def _requirements(keeper: TextKeeper, spec: ApiSpec) -> bytes:
    """``requirements.txt`` at the root; for a SageMaker-style bundle, ``code/requirements.txt`` (SageMaker's place)."""
    root = keeper.texts.get(REQUIREMENTS_FILE)
    beside = keeper.texts.get(SAGEMAKER_REQUIREMENTS_FILE) if spec.predictor.type == "sagemaker" else None
    if root is not None and beside is not None:
        raise AmbiguousRequirementsError(
            f"the bundle has both {REQUIREMENTS_FILE} and {SAGEMAKER_REQUIREMENTS_FILE}; keep one"
        )
    return root if root is not None else beside or b""


def inspect_bundle(stream: ByteSource, *, api: str | None, limits: BundleLimits = DEFAULT_LIMITS) -> BundleReport:
    """Check a ``.tar.gz`` bundle for API ``api`` without executing or importing any of it.

    ``stream`` is read once, front to back, and never seeked (an S3 ``StreamingBody`` works); memory stays
    bounded by ``limits`` whatever the bundle's size. Member rules are checked as the stream goes, so a
    hostile archive is refused at the offending member; spec, predictor and requirements are checked after
    the last member. ``api`` is the ``<api>`` of ``apis/<api>/``, already validated by the caller; ``None`` when no
    API is known yet (``axon validate`` offline), so the spec's own ``name`` is not compared.

    Raises
    ------
    BundleError
        ``bundle.*``: see ``docs/bundle.md`` for every code.
    SpecError
        ``spec.invalid_yaml``, ``spec.invalid``, ``spec.name_mismatch``, ``spec.rollout_too_long``.

    Examples
    --------
    >>> with open("bundle.tar.gz", "rb") as f:  # doctest: +SKIP
    ...     report = inspect_bundle(f, api="iris")
    """
    keeper = TextKeeper(limits)
    walk = walk_bundle(stream, limits, keeper.visit)
    spec = spec_of_bundle(keeper.texts.get, lambda name: name in keeper.texts or walk.checker.kind(name) is not None)
    if api is not None and spec.name is not None and spec.name != api:
        raise SpecNameMismatchError(f"axon.yaml names the API {spec.name!r}, but it was uploaded to apis/{api}/")
    check_rollout_duration(spec)
    path = predictor_path(spec)
    source = keeper.predictor_source(path, walk.checker)
    if spec.predictor.type == "sagemaker":
        check_sagemaker_predictor(source, path)
    else:
        check_python_predictor(source, path)
    requirements = parse_requirements(_requirements(keeper, spec))
    return BundleReport(
        spec=spec,
        predictor_path=path,
        requirements_text=requirements_text(requirements),
        member_count=walk.checker.member_count,
    )
