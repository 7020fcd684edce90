"""What every command needs from the outside world, found lazily: ``axon --help`` never calls AWS.

The platform is the local stack only when asked for explicitly: ``--endpoint-url URL`` or ``AXON_ENDPOINT_URL``
(which ``axon local up`` prints). Otherwise it is the ``AxonCore`` stack's CloudFormation outputs, found with
boto3's own profile and region resolution (``--profile``, ``--region``, ``AWS_PROFILE``, ``AWS_REGION``, the
profile's ``region``). ``AWS_ENDPOINT_URL`` alone is botocore's business (every client goes there), never a switch
of discovery. Tests pass their own :class:`CliContext` (clients, clock, sleep) as the click ``obj``, so polling
commands run deterministically without real sleeps.

Only boto3 is imported up front: the registry (pydantic), the platforms, the rollout wiring and the statistics
sources are imported by the property that first needs them, so ``axon get`` makes its first AWS call (discovery)
before loading them and ``axon history`` never loads the platforms or the rollout wiring.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
import typer
from botocore.exceptions import ClientError

from axon import aws, names
from axon.cli.errors import DiscoveryError, NotFoundError
from axon.cli.options import TARGET_META, Target

if TYPE_CHECKING:
    from axon.cli.stats import StatsSource
    from axon.deps import Deps
    from axon.platforms.base import Platform
    from axon.platforms.ecs.config import EcsConfig
    from axon.registry import ApiRecord, DynamoDBRegistry
    from axon.settings import Settings


@dataclass(frozen=True)
class Deployment:
    """The resources of one axon installation that the CLI talks to."""

    bucket: str
    table: str
    state_machine_arn: str
    local_url: str | None  # the local stack's URL; None on AWS
    outputs: Mapping[str, str] = field(default_factory=dict)  # the AxonCore stack's outputs (AWS only)


def _local_deployment(client: Callable[[str], Any], env: Mapping[str, str], url: str) -> Deployment:
    from axon.settings import settings_from_env

    settings = settings_from_env(dict(env))
    pages = client("stepfunctions").get_paginator("list_state_machines").paginate()
    for page in pages:
        for machine in page["stateMachines"]:
            if machine["name"] == names.STATE_MACHINE:
                return Deployment(settings.models_bucket, settings.registry_table, machine["stateMachineArn"], url)
    raise DiscoveryError(f"the local stack at {url} has no state machine {names.STATE_MACHINE}: run `axon local up`")


def _aws_deployment(client: Callable[[str], Any], region: str) -> Deployment:
    try:
        stacks = client("cloudformation").describe_stacks(StackName=names.CORE_STACK)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        raise DiscoveryError(
            f"no {names.CORE_STACK} stack in {region}: run `cdk deploy` (or pass --region or --profile), or for "
            f"the local stack pass --endpoint-url or export {names.LOCAL_ENDPOINT_ENV}"
        ) from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    wanted = (names.OUTPUT_MODELS_BUCKET, names.OUTPUT_REGISTRY_TABLE, names.OUTPUT_STATE_MACHINE_ARN)
    missing = [key for key in wanted if key not in outputs]
    if missing:
        raise DiscoveryError(f"the {names.CORE_STACK} stack lacks the outputs {', '.join(missing)}: redeploy it")
    bucket, table, state_machine_arn = (outputs[key] for key in wanted)
    return Deployment(bucket, table, state_machine_arn, local_url=None, outputs=outputs)


def discover(client: Callable[[str], Any], env: Mapping[str, str], target: Target, region: str) -> Deployment:
    url = target.endpoint_url
    return _local_deployment(client, env, url) if url else _aws_deployment(client, region)


def session_clients(target: Target) -> tuple[Callable[[str], Any], str]:
    """A client factory on one boto3 session of ``target``, and its region (boto3's resolution, profile included).

    The local stack answers in any region, so it gets axon's default when none is configured; AWS gets none: a
    missing region is an error that says how to set one, never a silent us-east-1.
    """
    # AWS_REGION as the AWS CLI v2 reads it (before AWS_DEFAULT_REGION and the profile), which botocore does not.
    region_name = target.region or os.environ.get("AWS_REGION") or None
    session = boto3.session.Session(profile_name=target.profile, region_name=region_name)
    region = session.region_name or (names.DEFAULT_REGION if target.endpoint_url else None)
    if region is None:
        raise DiscoveryError(
            "no AWS region: pass --region, export AWS_REGION, or set `region` in your AWS profile "
            f"({target.profile or 'default'})"
        )

    def client(service: str) -> Any:
        return session.client(  # type: ignore[call-overload]
            service, region_name=region, endpoint_url=target.endpoint_url, config=aws.CLIENT_CONFIG
        )

    return client, region


def context_of(ctx: typer.Context) -> CliContext:
    """The invocation's :class:`CliContext`: made from the global options on first use unless a test passed one."""
    root = ctx.find_root()
    target = root.meta.get(TARGET_META, Target())
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext(target=target)
    elif target.endpoint_url:
        root.obj.target = Target(root.obj.target.profile, root.obj.target.region, target.endpoint_url)
    return root.obj


class CliContext:
    """Clients, clock and the discovered deployment of one ``axon`` invocation."""

    def __init__(
        self,
        client: Callable[[str], Any] | None = None,
        *,
        target: Target | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        stats: StatsSource | None = None,
        platforms: Callable[[str], Platform] | None = None,
        poll_seconds: float = 2.0,
    ) -> None:
        self.target = target or Target()
        self._given_client = client  # tests: one factory for every service, region taken from it
        self._clients: dict[str, Any] = {}
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.sleep = sleep
        self.clock = clock  # monotonic: deadlines
        self.now = now  # wall clock: log windows, metric windows, lease expiry
        self._stats = stats
        self._platform_override = platforms
        self.poll_seconds = poll_seconds

    @cached_property
    def _session(self) -> tuple[Callable[[str], Any], str]:
        if self._given_client is not None:
            return self._given_client, self.target.region or names.DEFAULT_REGION
        return session_clients(self.target)

    @property
    def region(self) -> str:
        """The region every client of this invocation uses."""
        return self._session[1]

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session[0](service)
        return self._clients[service]

    @cached_property
    def deployment(self) -> Deployment:
        return discover(self.client, self.env, self.target, self.region)

    @cached_property
    def registry(self) -> DynamoDBRegistry:
        table = self.deployment.table  # discovery (an AWS call) before pydantic and the registry are imported
        from axon.registry import DynamoDBRegistry

        return DynamoDBRegistry(table, self.client("dynamodb"))

    @cached_property
    def _settings(self) -> Settings:
        from axon.settings import Settings

        deployment = self.deployment
        return Settings(models_bucket=deployment.bucket, registry_table=deployment.table)

    @cached_property
    def _platforms(self) -> Callable[[str], Platform]:
        if self._platform_override is not None:
            return self._platform_override
        from axon.platforms.factory import platform_factory

        return platform_factory(self._settings, self.client)

    @cached_property
    def deps(self) -> Deps:
        """The same wiring the Lambdas get, for the domain operations a command runs (``axon.admin``).

        Unlike reads, these touch each API's own IAM role (``axon delete`` removes it), so the platforms get the
        deployment's role boundary: its ARN is fixed by axon's names and the caller's account (STS).
        """
        from dataclasses import replace

        from axon.deps import Deps
        from axon.platforms.api_roles import boundary_arn

        if self._platform_override is not None:
            return Deps(self._settings, self.registry, self.platform_for, self.client, clock=self.now)
        identity = self.client("sts").get_caller_identity()
        partition = str(identity["Arn"]).split(":")[1]
        settings = replace(self._settings, api_role_boundary_arn=boundary_arn(partition, str(identity["Account"])))
        from axon.platforms.factory import platform_factory

        return Deps(settings, self.registry, platform_factory(settings, self.client), self.client, clock=self.now)

    def platform_for(self, name: str) -> Platform:
        return self._platforms(name)

    @property
    def stats(self) -> StatsSource:
        if self._stats is None:
            from axon.cli.stats import CloudWatchStats, LocalStats

            url = self.deployment.local_url
            self._stats = LocalStats(url) if url else CloudWatchStats(self.client("cloudwatch"), self.now)
        return self._stats

    def api(self, name: str) -> ApiRecord:
        """The registry's record of ``name``; a clear error when there is none."""
        record = self.registry.get_api(name)
        if record is None:
            raise NotFoundError(f"no API named {name!r} (see `axon get`)")
        return record

    @cached_property
    def ecs_config(self) -> EcsConfig:
        """``/axon/ecs/config`` (SSM; on the local stack, the local one): the ECS APIs' base URL, listener, auth.

        Read once per invocation; a missing or malformed parameter raises ``platform.ecs_not_configured``.
        """
        from axon.platforms.ecs.config import load_ecs_config

        return load_ecs_config(self.client("ssm"))

    def runtime_url(self, api: str, platform: str = "sagemaker") -> str:
        """The URL clients POST predictions to: SageMaker Runtime's (or the local stack's front door) for a
        SageMaker API; for an ECS API, the load balancer's ``<EcsConfig.url>/apis/<api>/invocations``."""
        if platform == "ecs":
            from axon.platforms.ecs.listener import path_pattern

            return f"{self.ecs_config.url}{path_pattern(api)}"
        local = self.deployment.local_url
        base = (local or str(self.client("sagemaker-runtime").meta.endpoint_url)).rstrip("/")
        return f"{base}/endpoints/{names.endpoint_name(api)}/invocations"
