"""One synth of the CDK app per test session, shared by every CDK test (they run in one xdist group).

The app is built as ``python -m cdk_app.app`` builds it (both stacks, cdk-nag, the least-privilege aspect), with
two context values fixed so that the templates do not depend on the machine: ``AxonEcs`` in ``us-east-1`` and two
GPU instance types (to show one capacity provider per type).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import Stack, Validations, assertions, cx_api

from cdk_app.app import GPU_INSTANCE_TYPES_CONTEXT, REGION_CONTEXT, build_app

if TYPE_CHECKING:
    from tests.cdk.iam_recording import Recording

TEST_CONTEXT = {REGION_CONTEXT: "us-east-1", GPU_INSTANCE_TYPES_CONTEXT: "g5.xlarge,g6.2xlarge"}


@dataclass(frozen=True)
class Synth:
    """One stack of the session's synth: its template, where it was written, and its error annotations."""

    stack: Stack
    template: assertions.Template
    template_path: Path
    errors: tuple[str, ...] = ()

    @classmethod
    def of(cls, assembly: cx_api.CloudAssembly, stack: Stack) -> Synth:
        artifact = assembly.get_stack_by_name(stack.stack_name)
        path = Path(artifact.template_full_path)
        errors = tuple(
            f"{m.id}: {m.entry.data}" for m in artifact.messages if m.level == cx_api.SynthesisMessageLevel.ERROR
        )
        return cls(stack, assertions.Template.from_json(json.loads(path.read_text())), path, errors)

    @property
    def acknowledgements(self) -> dict[str, str]:
        """Rule id -> reason of every cdk-nag acknowledgement, as recorded in the assembly's metadata."""
        metadata = json.loads(self.template_path.with_name(f"{self.stack.artifact_id}.metadata.json").read_text())
        return {
            rule.removeprefix("Annotation::"): reason
            for entries in metadata.values()
            for entry in entries
            if entry["type"] == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
            for rule, reason in entry["data"].items()
        }

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def function_id(self, function_name: str) -> str:
        """Logical id of the Lambda named ``function_name``."""
        (logical_id,) = [
            k
            for k, v in self.of_type("AWS::Lambda::Function").items()
            if v["Properties"].get("FunctionName") == function_name
        ]
        return logical_id


@dataclass(frozen=True)
class AppSynth:
    core: Synth
    ecs: Synth


@pytest.fixture(scope="session")
def app_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppSynth]:
    """Synthesizes ``AxonCore`` and ``AxonEcs`` once; cdk-nag runs inside and fails it on any unacknowledged finding."""
    built = build_app(str(tmp_path_factory.mktemp("cdk.out")), context=TEST_CONTEXT)
    assembly = built.app.synth()
    yield AppSynth(Synth.of(assembly, built.core), Synth.of(assembly, built.ecs))


@pytest.fixture(scope="session")
def synth(app_synth: AppSynth) -> Synth:
    """``AxonCore`` of the session's synth."""
    return app_synth.core


@pytest.fixture(scope="session")
def ecs_synth(app_synth: AppSynth) -> Synth:
    """``AxonEcs`` of the session's synth."""
    return app_synth.ecs


@pytest.fixture(scope="session")
def recording() -> Iterator[Recording]:
    """Every AWS call of the fault harness's IAM scenarios (``tests/cdk/iam_recording.py``), recorded once."""
    from tests.cdk.iam_recording import record_all  # the moto world: only the IAM tests pay for its import

    logging.disable(logging.CRITICAL)  # failure paths log errors by design
    try:
        yield record_all()
    finally:
        logging.disable(logging.NOTSET)
