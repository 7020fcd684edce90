"""Entry point: ``python -m cdk_app.app`` (what ``cdk.json`` runs) synthesizes the ``AxonCore`` stack.

The context in ``cdk.json`` (feature flags) is applied here too, so running the module directly and running
``cdk synth`` produce the same template. ``CDK_OUTDIR`` (set by the CDK CLI) chooses the output folder;
without it the template goes to ``cdk.out/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Tags, cx_api

from axon.names import CORE_STACK, PROJECT
from axon.rollout.workflow import rollout_asl_text
from cdk_app.aspects.least_privilege import LeastPrivilege
from cdk_app.constructs.packaging import PROJECT_ROOT
from cdk_app.nag import add_checks
from cdk_app.stacks.core_stack import AxonCoreStack

CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context


def build_app(outdir: str | None = None) -> tuple[App, AxonCoreStack]:
    """The app with its one stack, cdk-nag checks and the least-privilege aspect registered (not synthesized)."""
    app = App(
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(PROJECT_ROOT / "cdk.out"), context=cdk_json_context()
    )
    stack = AxonCoreStack(
        app,
        CORE_STACK,
        asl_text=rollout_asl_text(),
        description="axon: serverless model deployment (models bucket, rollout workflow, autoscaler)",
    )
    Tags.of(app).add("project", PROJECT)
    Aspects.of(app).add(LeastPrivilege())
    add_checks(app)
    return app, stack


def main() -> None:
    """Synthesize; exit non-zero on error annotations, as ``cdk synth`` does (cdk-nag findings raise already)."""
    app, _ = build_app()
    assembly = app.synth()
    errors = [
        f"{message.id}: {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level == cx_api.SynthesisMessageLevel.ERROR
    ]
    if errors:
        raise SystemExit("synthesis found errors:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
