"""The one map from ASL placeholders to Lambda handler modules, shared by CDK, tests and local mode.

Every Lambda is named after its file, PascalCased: ``lambdas/validate_bundle.py`` -> ``ValidateBundle``,
ASL placeholder ``${ValidateBundleFunctionArn}``, handler ``lambdas.validate_bundle.handler``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axon.names import PROJECT

_PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@dataclass(frozen=True)
class LambdaFunction:
    """A control-plane Lambda: its module in ``lambdas/``, memory and timeout chosen for its work."""

    module: str
    memory_mb: int = 256
    timeout_seconds: int = 60

    @property
    def logical_name(self) -> str:
        return "".join(part.capitalize() for part in self.module.split("_"))

    @property
    def function_name(self) -> str:
        return f"{PROJECT}-{self.module.replace('_', '-')}"

    @property
    def handler(self) -> str:
        return f"lambdas.{self.module}.handler"

    @property
    def placeholder(self) -> str:
        return f"{self.logical_name}FunctionArn"


# Steps of statemachines/rollout.asl.json, in workflow order.
WORKFLOW_FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction("validate_bundle", memory_mb=512, timeout_seconds=300),
    LambdaFunction("resolve_image"),
    LambdaFunction("check_build", memory_mb=128),
    LambdaFunction("deploy_version", timeout_seconds=120),
    LambdaFunction("check_deployment", memory_mb=128),
    LambdaFunction("verify_version", timeout_seconds=120),
    LambdaFunction("finalize_rollout", timeout_seconds=60),
    LambdaFunction("complete_rollout", timeout_seconds=120),
    LambdaFunction("handle_failure", timeout_seconds=300),
)
# Not in the state machine: the upload intake (EventBridge target), the scheduled autoscaler, the cleanup of
# executions that ended unfinished (EventBridge target) and the scheduled reconciler.
INTAKE_FUNCTION = LambdaFunction("on_upload", memory_mb=256, timeout_seconds=30)
AUTOSCALER_FUNCTION = LambdaFunction("autoscaler", memory_mb=512, timeout_seconds=120)
EXECUTION_END_FUNCTION = LambdaFunction("on_execution_end", timeout_seconds=300)
RECONCILER_FUNCTION = LambdaFunction("reconcile", timeout_seconds=600)
ALL_FUNCTIONS: tuple[LambdaFunction, ...] = (
    *WORKFLOW_FUNCTIONS,
    INTAKE_FUNCTION,
    AUTOSCALER_FUNCTION,
    EXECUTION_END_FUNCTION,
    RECONCILER_FUNCTION,
)

ROLLOUT_ASL = "rollout.asl.json"


def statemachines_dir() -> Path:
    """``statemachines/`` at the project root, resolved from this package, never from the CWD."""
    return Path(__file__).resolve().parents[1] / "statemachines"


def rollout_asl_text() -> str:
    return (statemachines_dir() / ROLLOUT_ASL).read_text()


def placeholders_in(asl_text: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(asl_text))


def render_definition(asl_text: str, substitutions: dict[str, str]) -> dict[str, Any]:
    """Substitute ``${Name}`` placeholders (as Step Functions' DefinitionSubstitutions would) and parse."""
    missing = placeholders_in(asl_text) - substitutions.keys()
    if missing:
        raise KeyError(f"no substitution for {sorted(missing)}")
    rendered = _PLACEHOLDER_RE.sub(lambda m: substitutions[m.group(1)], asl_text)
    parsed: dict[str, Any] = json.loads(rendered)
    return parsed
