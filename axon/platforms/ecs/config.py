"""Where the ECS platform's shared infrastructure is: the ``/axon/ecs/config`` SSM parameter, read at run time.

The ``AxonEcs`` stack owns the cluster, its GPU capacity providers, the load balancer and the task roles, and
writes their identifiers to one SSM parameter (JSON). The control-plane Lambdas of ``AxonCore`` read it on first
use of ``compute.platform: ecs``, so ``AxonCore`` deploys without a cross-stack reference, works with no ECS
stack at all (SageMaker-only accounts), and picks up a new ``AxonEcs`` deployment without being redeployed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from axon import names
from axon.platforms.errors import PlatformError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

ECS_CONFIG_PARAMETER = "/axon/ecs/config"


class EcsNotConfiguredError(PlatformError):
    code = "platform.ecs_not_configured"


class JwtAuth(BaseModel):
    """ALB JWT verification (``jwt-validation``) on every production rule: machine clients send
    ``Authorization: Bearer <access token>`` issued by ``issuer``; the ALB checks its signature against
    ``jwks_endpoint``, ``iss``, ``exp`` (and ``nbf``/``iat``), and the ``scope`` claim when ``scopes`` are given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(pattern=r"^https://", description="Expected iss claim (an https URL).")
    jwks_endpoint: str = Field(pattern=r"^https://", description="Public JWKS URL of the issuer's signing keys.")
    scopes: tuple[str, ...] = Field(
        default=(), max_length=10, description="Values the token's space-separated scope claim is checked against."
    )


class EcsConfig(BaseModel):
    """The ``/axon/ecs/config`` document: every field is written by the ``AxonEcs`` stack.

    Examples
    --------
    >>> EcsConfig.model_validate_json('''{"cluster": "axon", "listener_arn": "arn:aws:elasticloadbalancing:...",
    ...   "vpc_id": "vpc-1", "subnets": ["subnet-1"], "security_groups": ["sg-1"],
    ...   "task_role_arn": "arn:aws:iam::1:role/axon-ecs-task", "execution_role_arn": "arn:aws:iam::1:role/x",
    ...   "capacity_providers": {"g5.xlarge": "axon-g5-xlarge"}, "url": "http://axon-1.elb.amazonaws.com"}''').cluster
    'axon'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str = Field(min_length=1, description="ECS cluster name the services run in.")
    listener_arn: str = Field(min_length=1, description="ALB listener that holds one rule per API.")
    vpc_id: str = Field(min_length=1, description="VPC of the load balancer: per-version target groups live here.")
    subnets: tuple[str, ...] = Field(min_length=1, description="Private subnets of the tasks (awsvpc).")
    security_groups: tuple[str, ...] = Field(min_length=1, description="Task security groups (ALB -> 8080 only).")
    task_role_arn: str = Field(min_length=1, description="Role the serving container runs as (reads bundles).")
    execution_role_arn: str = Field(min_length=1, description="Role ECS uses to pull the image and ship logs.")
    capacity_providers: dict[str, str] = Field(
        min_length=1, description="EC2 instance type -> ASG capacity provider that launches it (compute.instance_type)."
    )
    url: str = Field(
        pattern=r"^https?://[^/]+$",
        description="Base URL of the APIs as clients reach them, no trailing slash.",
    )
    auth: JwtAuth | None = Field(
        default=None, description="JWT verification on the production rules (AxonEcs context axon:jwtIssuer)."
    )
    internal: bool = Field(default=False, description="The ALB is internal (reached from its VPC only).")
    smoke_function: str = Field(
        default=names.ECS_SMOKE_FUNCTION,
        min_length=1,
        description="The Lambda in the VPC that sends smoke tests to the ALB (axon.platforms.ecs.smoke).",
    )
    placement_timeout_seconds: Annotated[
        int,
        Field(
            ge=60,
            le=21_600,
            description="How long a new version may wait for GPU capacity and healthy targets before it fails; "
            "default 30 min: a GPU instance takes minutes to boot and pull a multi-GB image.",
        ),
    ] = 1800


def load_ecs_config(ssm: SSMClient, parameter: str = ECS_CONFIG_PARAMETER) -> EcsConfig:
    """Read and validate the parameter; a missing or malformed one is a clear, coded error."""
    try:
        text = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise EcsNotConfiguredError(
                f"compute.platform 'ecs' needs the AxonEcs stack: SSM parameter {parameter} does not exist"
            ) from None
        raise PlatformError(f"reading SSM parameter {parameter} failed: {error}") from error
    try:
        return EcsConfig.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in error.errors())
        raise EcsNotConfiguredError(f"SSM parameter {parameter} is not a valid ECS config: {problems}") from None
