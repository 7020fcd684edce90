"""The moto patches that tests and local mode run axon on: each closes a measured moto 5.2 gap.

Nothing happens at import. :func:`install` applies every patch, :func:`uninstall` restores moto exactly, and
:func:`moto_patches` does both around a block. The patches work in-process (``mock_aws``) and in moto server mode
in the same process (``ThreadedMotoServer``), because they replace moto's model code, which both modes share.

1. Lambda handlers run in-process (``LambdaFunction._invoke_lambda``): no Docker (:mod:`.lambda_runtime`).
2. EventBridge delivers to Lambda, Step Functions and SNS targets (``Rule.send_to_targets``) (:mod:`.eventbridge`).
3. :func:`fire_schedules` fires EventBridge schedule rules and EventBridge Scheduler schedules on demand
   (:mod:`.eventbridge`).
4. SageMaker models, endpoint configs and endpoints are the local SageMaker emulator's (:mod:`axon_local.sagemaker`,
   as in local mode) on an in-memory fleet, moto's CloudWatch alarms and waits scaled by ``wait_scale``; tests
   shape launches through :func:`sagemaker_fleet` (:mod:`.sagemaker`).
5. Step Functions ``Wait`` states and ``Retry`` back-off last ``seconds * wait_scale`` (:mod:`.stepfunctions`).
6. CodeBuild builds run an image builder and end ``SUCCEEDED`` or ``FAILED`` as on AWS; by default a build pushes
   its image tag to moto's ECR; forced failures through :data:`codebuild_outcomes` (:mod:`.codebuild`).
7. sagemaker-runtime ``InvokeEndpoint`` refuses unknown endpoints and answers ``ModelError`` on demand through
   :data:`invocation_outcomes` (:mod:`.sagemaker_runtime`).
8. With ``PatchOptions.lambda_handlers`` set (local mode), only those functions with those handlers can be
   created, changed or invoked: anything else is ``AccessDeniedException`` (:mod:`.lambda_guard`).

``docs/moto-patches.md`` describes each gap, why the patch is faithful to AWS, and what it does not emulate.

Examples
--------
>>> from moto import mock_aws
>>> with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), moto_patches():
...     pass  # create functions, rules, state machines, endpoints and builds with boto3 as on AWS
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from axon_local.patches import (
    _registry,
    codebuild,
    eventbridge,
    lambda_guard,
    lambda_runtime,
    sagemaker,
    sagemaker_runtime,
    stepfunctions,
)
from axon_local.patches.codebuild import CodeBuildOutcomes, codebuild_outcomes
from axon_local.patches.eventbridge import fire_schedules
from axon_local.patches.lambda_runtime import POWERTOOLS_DEFAULTS, LambdaContext
from axon_local.patches.options import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    BuildFailedError,
    BuildRequest,
    ImageBuilder,
    PatchOptions,
)
from axon_local.patches.sagemaker import sagemaker_fleet
from axon_local.patches.sagemaker_runtime import InvocationOutcomes, invocation_outcomes

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "POWERTOOLS_DEFAULTS",
    "BuildFailedError",
    "BuildRequest",
    "CodeBuildOutcomes",
    "ImageBuilder",
    "InvocationOutcomes",
    "LambdaContext",
    "PatchOptions",
    "codebuild_outcomes",
    "fire_schedules",
    "install",
    "invocation_outcomes",
    "moto_patches",
    "sagemaker_fleet",
    "uninstall",
]


def install(options: PatchOptions | None = None) -> None:
    """Apply every patch; raises ``RuntimeError`` if already installed (patches do not nest)."""
    with _registry.lock:
        if _registry.installed():
            raise RuntimeError("moto patches are already installed")
        _registry.options = options or PatchOptions()
        _forget_test_controls()
        try:
            for apply in (
                lambda_guard.apply,
                lambda_runtime.apply,
                eventbridge.apply,
                sagemaker.apply,
                stepfunctions.apply,
                codebuild.apply,
                sagemaker_runtime.apply,
            ):
                apply()
        except BaseException:
            _restore()
            raise


def uninstall() -> None:
    """Restore every patched moto attribute (a no-op when nothing is installed)."""
    with _registry.lock:
        _restore()


@contextmanager
def moto_patches(
    *,
    wait_scale: float = 0.0,
    lambda_environment: Mapping[str, str] | None = None,
    image_builder: ImageBuilder | None = None,
    synchronous_builds: bool = True,
    lambda_handlers: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Install the patches for the block, then restore moto (see :class:`PatchOptions` for the arguments)."""
    install(
        PatchOptions(
            wait_scale=wait_scale,
            lambda_environment=dict(lambda_environment or {}),
            image_builder=image_builder,
            synchronous_builds=synchronous_builds,
            lambda_handlers=None if lambda_handlers is None else dict(lambda_handlers),
        )
    )
    try:
        yield
    finally:
        uninstall()


def _restore() -> None:
    _registry.restore()
    _forget_test_controls()


def _forget_test_controls() -> None:
    sagemaker.reset()
    invocation_outcomes.clear()
    codebuild.reset()
