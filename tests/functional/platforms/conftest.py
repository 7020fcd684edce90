"""The ECS platform against moto: the local stack's ECS emulator (``ecs_world``) and one clock for both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon.platforms.base import VersionRef
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs.config import EcsConfig
from axon.platforms.ecs.platform import EcsPlatform
from axon.spec import load_spec_text
from axon_local.patches import moto_patches
from tests.functional.platforms.ecs_world import EcsWorld, ecs_world

ECS_SPEC = "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}\n"


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


@dataclass
class World:
    config: EcsConfig
    ecs: EcsWorld
    clock: list[float]  # the platform's and ECS's "now", moved by advance()
    platform: EcsPlatform

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds

    @staticmethod
    def version(label: str, yaml: str = "", api: str = "iris") -> VersionRef:
        return VersionRef(
            api=api,
            label=label,
            spec=load_spec_text(ECS_SPEC + yaml),
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-gpu",
            model_data_uri=f"s3://{names.LOCAL_MODELS_BUCKET}/{names.immutable_bundle_key(api, label)}",
        )

    def weights(self, api: str = "iris") -> list[tuple[str, int]]:
        """The production rule's forward targets as (version label, weight); [] when the API has no rule."""
        return rule_weights(self.config, api)

    def service(self, api: str, label: str) -> Any:
        found = client("ecs").describe_services(
            cluster=self.config.cluster, services=[ecs_service.service_name(api, label)]
        )
        active = [s for s in found["services"] if s["status"] == "ACTIVE"]
        return active[0] if active else None

    def target_groups(self) -> list[str]:
        return sorted(g["TargetGroupName"] for g in client("elbv2").describe_target_groups()["TargetGroups"])

    def task_definitions(self) -> list[str]:
        arns = client("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
        return sorted(arn.rsplit("/", 1)[-1] for arn in arns)

    def rules(self) -> list[dict[str, Any]]:
        rules = client("elbv2").describe_rules(ListenerArn=self.config.listener_arn)["Rules"]
        return [r for r in rules if not r["IsDefault"]]

    def live(self, label: str, yaml: str = "") -> VersionRef:
        """Deploy ``label`` of iris as the first version and poll until it serves."""
        version = self.version(label, yaml)
        self.platform.deploy(version, None)
        assert self.platform.deployment_status(version, None).phase == "succeeded"
        return version

    def fail_until_the_circuit_breaker_trips(self, api: str, label: str) -> None:
        """Green's tasks keep failing to start: ECS retries, backing off, until its circuit breaker stops them."""
        for _ in range(60):
            if self.service(api, label)["deployments"][0]["rolloutState"] == "FAILED":
                return
            self.advance(1)
            self.ecs.agent.sync()
        raise AssertionError("the circuit breaker never tripped")


def rule_weights(config: EcsConfig, api: str) -> list[tuple[str, int]]:
    elbv2 = client("elbv2")
    wanted = ecs_listener.conditions_key(ecs_listener.production_conditions(api))
    for rule in elbv2.describe_rules(ListenerArn=config.listener_arn)["Rules"]:
        if ecs_listener.conditions_key(rule["Conditions"]) == wanted:
            groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
            tags = elbv2.describe_tags(ResourceArns=[g["TargetGroupArn"] for g in groups])["TagDescriptions"]
            labels = {
                d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]}[ecs_service.TAG_VERSION] for d in tags
            }
            return [(labels[g["TargetGroupArn"]], g["Weight"]) for g in groups]
    return []


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = [float(int(time.time()))]
    # Lambda handlers (the ECS smoke function) run in-process.
    with moto_patches(), ecs_world(client, monkeypatch, clock=lambda: clock[0], placement_timeout_seconds=600) as ecs:
        platform = EcsPlatform(
            client("ecs"),
            client("elbv2"),
            client("cloudwatch"),
            ecs.config,
            logs=client("logs"),
            clock=lambda: clock[0],
            lambda_client=client("lambda"),
        )
        yield World(ecs.config, ecs, clock, platform)
