"""Read an API's end state from the registry, Step Functions and the platform into an :class:`EndState`."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from bench.faults.invariants import EndState, VersionView
from bench.faults.world import CLUSTER, World, client, rule_weights


def end_state(world: World, platform: str, api: str, uploads: tuple[str, ...], previous_seq: int | None) -> EndState:
    registry = world.stack.registry
    versions = tuple(
        VersionView(v.seq, v.version, v.version_id, v.status.value)
        for v in sorted(registry.list_versions(api), key=lambda v: v.seq)
    )
    record = registry.get_api(api)
    labels = [v.label for v in versions]
    if platform == "ecs":
        serving, status, resources = _ecs(world, api, labels)
    else:
        serving, status, resources = _sagemaker(api)
    resources["alarms"] = frozenset({"api"}) if _alarms(api) else frozenset()
    return EndState(
        platform=platform,
        api=api,
        uploads=uploads,
        previous_seq=previous_seq,
        versions=versions,
        live_seq=record.live_seq if record else None,
        lease_owner=record.lease_owner if record else None,
        executions=_executions(world, api),
        serving=serving,
        platform_status=status,
        resources=resources,
    )


def _executions(world: World, api: str) -> dict[str, str]:
    """The API's executions: ``<api>-<digest>`` (``names.execution_name``)."""
    own = re.compile(rf"^{re.escape(api)}-[0-9a-f]{{32}}$")
    pages = client("stepfunctions").get_paginator("list_executions")
    return {
        e["name"]: e["status"]
        for page in pages.paginate(stateMachineArn=world.stack.provisioned.state_machine_arn)
        for e in page["executions"]
        if own.match(e["name"])
    }


Observed = tuple[tuple[tuple[str, int], ...], str, dict[str, frozenset[str]]]


def _sagemaker(api: str) -> Observed:
    sagemaker = client("sagemaker")
    prefix = f"{names.endpoint_name(api)}-"
    models = sagemaker.list_models(NameContains=prefix, MaxResults=100)["Models"]
    configs = sagemaker.list_endpoint_configs(NameContains=prefix, MaxResults=100)["EndpointConfigs"]
    resources = {
        "models": _labels(api, (m["ModelName"] for m in models)),
        "endpoint configs": _labels(api, (c["EndpointConfigName"] for c in configs)),
    }
    try:
        described = sagemaker.describe_endpoint(EndpointName=names.endpoint_name(api))
    except ClientError:
        return (), "", {**resources, "endpoint": frozenset()}
    label = ecs_service.label_of(api, described["EndpointConfigName"]) or described["EndpointConfigName"]
    return ((label, 100),), str(described["EndpointStatus"]), {**resources, "endpoint": frozenset({"api"})}


def _labels(api: str, resource_names: Any) -> frozenset[str]:
    return frozenset(label for name in resource_names if (label := ecs_service.label_of(api, name)) is not None)


def _ecs(world: World, api: str, labels: list[str]) -> Observed:
    ecs, elbv2 = client("ecs"), client("elbv2")
    services: set[str] = set()
    if labels:
        described = ecs.describe_services(cluster=CLUSTER, services=[ecs_service.service_name(api, x) for x in labels])
        services = {s["serviceName"] for s in described["services"] if s["status"] == "ACTIVE"}
    groups = {g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    families = {
        label
        for label in labels
        if ecs.list_task_definitions(familyPrefix=ecs_service.task_family(api, label), status="ACTIVE")[
            "taskDefinitionArns"
        ]
    }
    resources = {
        "services": _labels(api, services),
        "target groups": frozenset(x for x in labels if ecs_listener.target_group_name(api, x) in groups),
        "task definitions": frozenset(families),
    }
    weights = tuple(rule_weights(world.ecs, api))
    return weights, "InService" if weights else "", resources


def _alarms(api: str) -> list[str]:
    wanted = [names.alarm_name(api, kind) for kind in ("5xx", "latency")]
    return [a["AlarmName"] for a in client("cloudwatch").describe_alarms(AlarmNames=wanted)["MetricAlarms"]]
