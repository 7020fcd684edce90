"""One synth of the CDK app per test session, shared by every CDK test (they run in one xdist group)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Validations, assertions

from axon.names import CORE_STACK
from cdk_app.app import build_app
from cdk_app.stacks.core_stack import AxonCoreStack


@dataclass(frozen=True)
class Synth:
    stack: AxonCoreStack
    template: assertions.Template
    template_path: Path

    @property
    def acknowledgements(self) -> dict[str, str]:
        """Rule id -> reason of every cdk-nag acknowledgement, as recorded in the assembly's metadata."""
        metadata = json.loads(self.template_path.with_name(f"{CORE_STACK}.metadata.json").read_text())
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


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """Synthesizes ``AxonCore`` once; cdk-nag runs as part of it and fails it on any unacknowledged finding."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(str(outdir))
    assembly = app.synth()
    template_path = Path(assembly.get_stack_by_name(CORE_STACK).template_full_path)
    yield Synth(stack, assertions.Template.from_json(json.loads(template_path.read_text())), template_path)
