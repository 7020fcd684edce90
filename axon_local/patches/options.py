"""The settings of the patches and the types their callbacks exchange (no moto import here)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# ``lambdas.<module>.<function>``: a handler of the project's ``lambdas`` package, nothing deeper or elsewhere.
_AXON_HANDLER = re.compile(r"lambdas\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")

# The buildspec phases whose commands can fail (the ones a buildspec lists).
COMMAND_PHASES = ("INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD")


@dataclass(frozen=True)
class BuildRequest:
    """One CodeBuild build, as the image builder sees it.

    ``environment`` holds the project's environment variables with the StartBuild request's
    ``environmentVariablesOverride`` merged over them (by name, as CodeBuild does).
    """

    project_name: str
    build_id: str
    environment: Mapping[str, str]
    account: str
    region: str


class BuildFailedError(Exception):
    """Raised by an image builder: a command of buildspec phase ``phase`` failed with ``message``.

    The build ends ``FAILED`` with that phase ``FAILED`` and the message in its ``contexts``.
    """

    def __init__(self, phase: str, message: str) -> None:
        if phase not in COMMAND_PHASES:
            raise ValueError(f"phase must be one of {', '.join(COMMAND_PHASES)}, not {phase!r}")
        super().__init__(f"{phase}: {message}")
        self.phase = phase
        self.message = message


ImageBuilder = Callable[[BuildRequest], None]


@dataclass(frozen=True)
class PatchOptions:
    """How the patches behave; every field has the value tests want by default."""

    wait_scale: float = 0.0
    """Step Functions ``Wait`` states and ``Retry`` intervals, and the in-process SageMaker's bakes and waits,
    last ``seconds * wait_scale`` (1.0: as on AWS, moto untouched; 0.0: at once; local mode uses e.g. 0.1)."""
    lambda_environment: Mapping[str, str] = field(default_factory=dict)
    """Extra variables for every in-process invocation (server mode: ``AWS_ENDPOINT_URL`` of the server)."""
    image_builder: ImageBuilder | None = None
    """Runs each CodeBuild build; None: push a placeholder image to ECR as the buildspec would."""
    synchronous_builds: bool = True
    """Run the image builder inside StartBuild (tests); False: on a daemon thread (local mode)."""
    lambda_handlers: Mapping[str, str] | None = None
    """Function name -> handler: the only Lambda functions that may be created, changed or invoked, each with
    exactly its handler (local mode: the ones it provisions, all under ``lambdas.``). None: any function and any
    importable handler (tests, whose own process is the only client)."""

    def __post_init__(self) -> None:
        for name, handler in (self.lambda_handlers or {}).items():
            if not _AXON_HANDLER.fullmatch(handler):
                raise ValueError(f"{name}: handler {handler!r} is not a function of a module under lambdas.")
        if not (math.isfinite(self.wait_scale) and self.wait_scale >= 0):
            raise ValueError(f"wait_scale must be a finite number >= 0, not {self.wait_scale!r}")
