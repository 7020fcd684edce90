"""The moto patches that tests and local mode run axon on: each closes a measured moto 5.2 gap.

Nothing happens at import. :func:`install` applies every patch, :func:`uninstall` restores moto exactly, and
:func:`moto_patches` does both around a block. The patches work in-process (``mock_aws``) and in moto server mode
in the same process (``ThreadedMotoServer``), because they replace moto's model code, which both modes share.

1. Lambda handlers run in-process (``LambdaFunction._invoke_lambda``): no Docker (:mod:`.lambda_runtime`).
2. EventBridge delivers to Lambda, Step Functions and SNS targets (``Rule.send_to_targets``) (:mod:`.eventbridge`).
3. :func:`fire_schedules` fires EventBridge schedule rules and EventBridge Scheduler schedules on demand
   (:mod:`.eventbridge`).
4. SageMaker ``UpdateEndpoint`` with ``DeploymentConfig``: blue/green steps seen through ``DescribeEndpoint``,
   forced outcomes through :data:`sagemaker_outcomes`; ``CreateEndpoint`` may pass through ``Creating``;
   ``UpdateEndpointWeightsAndCapacities`` keeps what the request leaves out (:mod:`.sagemaker`).
5. CreateEndpointConfig accepts every instance type botocore's SageMaker model lists (g5, g6, p4d, p5, inf2...)
   (:mod:`.sagemaker`).
6. Step Functions ``Wait`` states and ``Retry`` back-off last ``seconds * wait_scale`` (:mod:`.stepfunctions`).
7. CodeBuild builds run an image builder and end ``SUCCEEDED`` or ``FAILED`` as on AWS; by default a build pushes
   its image tag to moto's ECR; forced failures through :data:`codebuild_outcomes` (:mod:`.codebuild`).
8. sagemaker-runtime ``InvokeEndpoint`` refuses unknown endpoints and answers ``ModelError`` on demand through
   :data:`invocation_outcomes` (:mod:`.sagemaker_runtime`).
9. With ``PatchOptions.lambda_handlers`` set (local mode), only those functions with those handlers can be
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
    UpdateOutcome,
)
from axon_local.patches.sagemaker import SageMakerOutcomes, sagemaker_outcomes
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
    "SageMakerOutcomes",
    "UpdateOutcome",
    "codebuild_outcomes",
    "fire_schedules",
    "install",
    "invocation_outcomes",
    "moto_patches",
    "sagemaker_outcomes",
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
    endpoint_create_steps: int = 0,
    describes_per_update_step: int = 1,
    image_builder: ImageBuilder | None = None,
    synchronous_builds: bool = True,
    lambda_handlers: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Install the patches for the block, then restore moto (see :class:`PatchOptions` for the arguments)."""
    install(
        PatchOptions(
            wait_scale=wait_scale,
            lambda_environment=dict(lambda_environment or {}),
            endpoint_create_steps=endpoint_create_steps,
            describes_per_update_step=describes_per_update_step,
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
    sagemaker_outcomes.clear()
    invocation_outcomes.clear()
    codebuild.reset()
