"""Which files of a bundle make its spec: one rule for the inspector (control plane) and axon-serve (replica).

A bundle's spec is its ``axon.yaml`` (or ``axon.yml``, not both). Without one, a SageMaker framework-style
``model.tar.gz`` (``code/inference.py`` and no ``predictor.py``) is taken as it is, SageMaker style; anything else
gets axon's defaults. The inspector reads the archive and axon-serve the unpacked directory, so both pass how to
read a file and whether a member exists, and both get the same spec.
"""

from __future__ import annotations

from collections.abc import Callable

from axon.spec.errors import SpecError
from axon.spec.user_config import ApiSpec, PredictorSpec, load_spec_text

SPEC_FILES = ("axon.yaml", "axon.yml")
PYTHON_PREDICTOR = "predictor.py"
SAGEMAKER_SCRIPT = "code/inference.py"  # where SageMaker's framework containers look for the inference script


def spec_of_bundle(read: Callable[[str], bytes | None], has_member: Callable[[str], bool]) -> ApiSpec:
    """The spec the bundle asks for: its spec file's, else the one its layout implies."""
    present = [name for name in SPEC_FILES if has_member(name)]
    if len(present) > 1:
        raise SpecError("the bundle has both axon.yaml and axon.yml; keep one")
    if present:
        return load_spec_text(read(present[0]) or b"")
    if not has_member(PYTHON_PREDICTOR) and has_member(SAGEMAKER_SCRIPT):
        return ApiSpec(predictor=PredictorSpec(type="sagemaker"))
    return ApiSpec()
