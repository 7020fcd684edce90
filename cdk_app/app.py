"""Entry point: ``python -m cdk_app.app`` (what ``cdk.json`` runs) synthesizes ``AxonCore`` and ``AxonEcs``.

The context in ``cdk.json`` (feature flags) is applied here too, so running the module directly and running
``cdk synth`` produce the same templates. ``CDK_OUTDIR`` (set by the CDK CLI) chooses the output folder;
without it the templates go to ``cdk.out/``.

``AxonEcs`` needs a concrete region (ALB access logs are delivered by a per-region principal): ``-c axon:region=<r>``,
else the CLI's ``CDK_DEFAULT_REGION`` (from the profile), else ``us-east-1``, so the app synthesizes offline.
Its GPU instance types come from ``-c axon:gpuInstanceTypes=g5.xlarge,g6.2xlarge`` (default ``g5.xlarge``), its
front door (HTTPS, internal ALB, JWT verification) from the keys in :mod:`cdk_app.context` (docs/ecs.md).
``AxonCore`` stays environment-agnostic; the two stacks share no references (``/axon/ecs/config`` joins them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from aws_cdk import App, Aspects, Environment, Tags, cx_api

from axon.functions import rollout_asl_text
from axon.names import CORE_STACK, DEFAULT_REGION, ECS_STACK, PROJECT
from cdk_app import context
from cdk_app.aspects.least_privilege import LeastPrivilege
from cdk_app.constructs.packaging import PROJECT_ROOT
from cdk_app.nag import add_checks
from cdk_app.stacks.core_stack import AxonCoreStack
from cdk_app.stacks.ecs_stack import DEFAULT_INSTANCE_TYPES, AxonEcsStack

CDK_JSON = PROJECT_ROOT / "cdk.json"
REGION_CONTEXT = context.REGION  # every context key is defined in cdk_app/context.py
GPU_INSTANCE_TYPES_CONTEXT = context.GPU_INSTANCE_TYPES


class AxonApp(NamedTuple):
    app: App
    core: AxonCoreStack
    ecs: AxonEcsStack


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context


def ecs_region(app: App) -> str:
    """``axon:region`` context, else ``CDK_DEFAULT_REGION``, else ``us-east-1``."""
    return str(app.node.try_get_context(REGION_CONTEXT) or os.environ.get("CDK_DEFAULT_REGION") or DEFAULT_REGION)


def gpu_instance_types(app: App) -> tuple[str, ...]:
    """``axon:gpuInstanceTypes`` context: a comma-separated string (``-c``) or a list (``cdk.json``)."""
    value = app.node.try_get_context(GPU_INSTANCE_TYPES_CONTEXT)
    if value is None:
        return DEFAULT_INSTANCE_TYPES
    items = value.split(",") if isinstance(value, str) else value
    types = tuple(str(item).strip() for item in items if str(item).strip())
    if not types:
        raise ValueError(f"context {GPU_INSTANCE_TYPES_CONTEXT} names no instance type: {value!r}")
    return types


def build_app(outdir: str | None = None, context: Mapping[str, Any] | None = None) -> AxonApp:
    """The app with both stacks, cdk-nag checks and the least-privilege aspect registered (not synthesized).

    ``context`` is added to ``cdk.json``'s (the CLI's ``-c`` values still win, as in any CDK app).
    """
    app = App(
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(PROJECT_ROOT / "cdk.out"),
        context={**cdk_json_context(), **(context or {})},
    )
    core = AxonCoreStack(
        app,
        CORE_STACK,
        asl_text=rollout_asl_text(),
        description="axon: serverless model deployment (models bucket, rollout workflow, autoscaler)",
    )
    ecs = AxonEcsStack(
        app,
        ECS_STACK,
        instance_types=gpu_instance_types(app),
        env=Environment(region=ecs_region(app)),
        description="axon: ECS GPU platform (cluster, GPU capacity providers, load balancer, /axon/ecs/config)",
    )
    Tags.of(app).add("project", PROJECT)
    Aspects.of(app).add(LeastPrivilege())
    add_checks(app)
    return AxonApp(app, core, ecs)


def main() -> None:
    """Synthesize; exit non-zero on error annotations, as ``cdk synth`` does (cdk-nag findings raise already)."""
    assembly = build_app().app.synth()
    errors = [
        f"{stack.stack_name}: {message.id}: {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level == cx_api.SynthesisMessageLevel.ERROR
    ]
    if errors:
        raise SystemExit("synthesis found errors:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
