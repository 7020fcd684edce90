"""Every control-plane Lambda, in one catalogue that the CDK app, the local stack and the tests read.

A Lambda is named after its entry, PascalCased: ``validate_bundle`` -> ``ValidateBundle``, function
``axon-validate-bundle``, ASL placeholder ``${ValidateBundleFunctionArn}``. A workflow step's entry names the
function it runs (``step``); its handler is ``lambdas.workflow.<name>``, built from the entry, so no handler module
is written per step. Every entry also names the permission sets its role gets (``grants``, methods of
``cdk_app.constructs.permissions.ControlPlaneAccess``). Adding a step touches three places, and
``tests/unit/test_functions.py`` fails when they drift: its state in ``statemachines/rollout.asl.json``, its entry in
:data:`WORKFLOW_FUNCTIONS`, and its function in ``axon/rollout/``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from axon.names import PROJECT

_PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
WORKFLOW_HANDLERS = "lambdas.workflow"  # the module whose attributes are the workflow steps' handlers

# Permission sets of ControlPlaneAccess (cdk_app/constructs/permissions.py), one method each.
Grant = Literal[
    "read_uploads",
    "publish_versions",
    "read_capacity",
    "find_images",
    "start_builds",
    "poll_builds",
    "write_registry",
    "use_registry",
    "keep_scaler_state",
    "manage_api_roles",
    "control_endpoints",
    "read_replica_logs",
    "control_ecs_services",
    "control_listener",
    "read_ecs_config",
    "invoke_ecs_smoke",
    "start_rollouts",
    "notify",
    "watch_executions",
    "list_uploads",
    "scale_endpoints",
    "scale_ecs_services",
]
# What every step that moves traffic (and whatever undoes it) may do.
ROLLOUT_GRANTS: tuple[Grant, ...] = (
    "manage_api_roles",
    "control_endpoints",
    "read_replica_logs",
    "control_ecs_services",
    "control_listener",
    "read_ecs_config",
    "invoke_ecs_smoke",
    "use_registry",
    "start_rollouts",
    "notify",
)


@dataclass(frozen=True)
class LambdaFunction:
    """A control-plane Lambda: what it runs, what its role may do, and memory and timeout chosen for its work.

    ``step`` is the dotted path of a workflow step (``(Deps, RolloutState) -> RolloutState | Outcome``); without
    one, the function has a handler module of its own, ``lambdas/<name>.py``.
    """

    name: str
    grants: tuple[Grant, ...]
    step: str | None = None
    memory_mb: int = 256
    timeout_seconds: int = 60

    @property
    def logical_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def function_name(self) -> str:
        return f"{PROJECT}-{self.name.replace('_', '-')}"

    @property
    def handler(self) -> str:
        """What Lambda invokes: ``<module>.<attribute>``."""
        return f"{WORKFLOW_HANDLERS}.{self.name}" if self.step else f"lambdas.{self.name}.handler"

    @property
    def runs(self) -> str:
        """The code behind the handler, for descriptions."""
        return self.step or f"lambdas/{self.name}.py"

    @property
    def placeholder(self) -> str:
        return f"{self.logical_name}FunctionArn"


# Steps of statemachines/rollout.asl.json, in workflow order.
WORKFLOW_FUNCTIONS: tuple[LambdaFunction, ...] = (
    LambdaFunction(
        "validate_bundle",
        # Counting every live API's replicas against the platform-wide cap reads capacity; the registry is queried.
        ("read_uploads", "publish_versions", "read_capacity", "use_registry", "read_ecs_config"),
        step="axon.rollout.prepare.validate",
        memory_mb=512,
        timeout_seconds=300,
    ),
    LambdaFunction(
        "resolve_image", ("find_images", "start_builds", "write_registry"), step="axon.rollout.prepare.resolve_image"
    ),
    LambdaFunction(
        "check_build",
        ("find_images", "poll_builds", "write_registry"),
        step="axon.rollout.prepare.check_build",
        memory_mb=128,
    ),
    LambdaFunction("deploy_version", ROLLOUT_GRANTS, step="axon.rollout.release.deploy", timeout_seconds=120),
    LambdaFunction("check_deployment", ROLLOUT_GRANTS, step="axon.rollout.release.check_deployment", memory_mb=128),
    LambdaFunction("verify_version", ROLLOUT_GRANTS, step="axon.rollout.release.verify", timeout_seconds=120),
    LambdaFunction("finalize_rollout", ROLLOUT_GRANTS, step="axon.rollout.release.finalize", timeout_seconds=60),
    LambdaFunction("complete_rollout", ROLLOUT_GRANTS, step="axon.rollout.release.complete", timeout_seconds=120),
    LambdaFunction("handle_failure", ROLLOUT_GRANTS, step="axon.rollout.release.handle_failure", timeout_seconds=300),
)
# Not in the state machine: the upload intake (EventBridge target), the scheduled autoscaler, the cleanup of
# executions that ended unfinished (EventBridge target) and the scheduled reconciler.
# Registering an upload is one transaction of puts and updates; it never queries.
INTAKE_FUNCTION = LambdaFunction("on_upload", ("write_registry", "start_rollouts"), timeout_seconds=30)
AUTOSCALER_FUNCTION = LambdaFunction(
    "autoscaler",
    ("scale_endpoints", "scale_ecs_services", "read_ecs_config", "keep_scaler_state"),
    memory_mb=512,
    timeout_seconds=120,
)
EXECUTION_END_FUNCTION = LambdaFunction("on_execution_end", ROLLOUT_GRANTS, timeout_seconds=300)
RECONCILER_FUNCTION = LambdaFunction(
    "reconcile", (*ROLLOUT_GRANTS, "watch_executions", "list_uploads"), timeout_seconds=600
)
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
