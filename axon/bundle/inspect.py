"""``inspect_bundle``: the Validate step's whole check of an uploaded bundle, in one streamed pass."""

from __future__ import annotations

import yaml

from axon.bundle.archive import walk_bundle
from axon.bundle.limits import DEFAULT_LIMITS, BundleLimits
from axon.bundle.predictor import check_python_predictor, check_sagemaker_predictor
from axon.bundle.report import BundleReport
from axon.bundle.requirements import parse_requirements, requirements_text
from axon.bundle.stream import ByteSource
from axon.bundle.texts import REQUIREMENTS_FILE, SPEC_FILES, TextKeeper, predictor_path
from axon.spec import ApiSpec, SpecError, SpecNameMismatchError, SpecYamlError, load_spec_text
from axon.spec.duration import check_rollout_duration


def _has_alias(text: bytes) -> bool:
    """YAML aliases can nest into billions of nodes once serialized (the "billion laughs")."""
    try:
        return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return False  # load_spec_text reports it, with the line


def _load_spec(keeper: TextKeeper) -> ApiSpec:
    present = [name for name in SPEC_FILES if name in keeper.texts]
    if len(present) > 1:
        raise SpecError("the bundle has both axon.yaml and axon.yml; keep one")
    if not present:
        return load_spec_text(None)
    text = keeper.texts[present[0]]
    if _has_alias(text):
        raise SpecYamlError(f"{present[0]} uses YAML anchors/aliases, which axon does not accept")
    return load_spec_text(text)


def inspect_bundle(stream: ByteSource, *, api: str, limits: BundleLimits = DEFAULT_LIMITS) -> BundleReport:
    """Check a ``.tar.gz`` bundle for API ``api`` without executing or importing any of it.

    ``stream`` is read once, front to back, and never seeked (an S3 ``StreamingBody`` works); memory stays
    bounded by ``limits`` whatever the bundle's size. Member rules are checked as the stream goes, so a
    hostile archive is refused at the offending member; spec, predictor and requirements are checked after
    the last member. ``api`` is the ``<api>`` of ``apis/<api>/``, already validated by the caller.

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
    spec = _load_spec(keeper)
    if spec.name is not None and spec.name != api:
        raise SpecNameMismatchError(f"axon.yaml names the API {spec.name!r}, but it was uploaded to apis/{api}/")
    check_rollout_duration(spec)
    path = predictor_path(spec)
    source = keeper.predictor_source(path, walk.checker)
    if spec.predictor.type == "sagemaker":
        check_sagemaker_predictor(source, path)
    else:
        check_python_predictor(source, path)
    requirements = parse_requirements(keeper.texts.get(REQUIREMENTS_FILE, b""))
    return BundleReport(
        spec=spec,
        predictor_path=path,
        requirements_text=requirements_text(requirements),
        member_count=walk.checker.member_count,
    )
