"""Content-addressed serving images: unchanged runtime, flavour and requirements never rebuild."""

from __future__ import annotations

import hashlib
from typing import Literal

from axon import __version__
from axon.spec import ApiSpec

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
