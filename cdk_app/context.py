"""Every CDK context key the app reads (``-c key=value`` or ``cdk.json``), and how the ECS front door's are parsed.

``-c`` values arrive as strings, ``cdk.json`` values as JSON: the parsers accept both. The front door's settings
are checked here, before any construct exists, so a contradictory combination fails ``cdk synth`` with a sentence
naming the keys rather than a CloudFormation error at deploy time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from constructs import Node

from axon.platforms.ecs.config import JwtAuth

REGION = "axon:region"
GPU_INSTANCE_TYPES = "axon:gpuInstanceTypes"
POWERTOOLS_LAYER_VERSION = "axon:powertoolsLayerVersion"
# Stopped GPU instances kept per instance type in a warm pool (docs/ecs.md, "Warm capacity"); 0: none.
ECS_WARM_POOL_SIZE = "axon:ecsWarmPoolSize"
# The ECS front door (docs/ecs.md, "The front door").
CERTIFICATE_ARN = "axon:certificateArn"  # ACM certificate: HTTPS on 443, HTTP redirected to it
DOMAIN_NAME = "axon:domainName"  # the name the certificate covers and that points at the ALB (the API URL)
INTERNAL_ALB = "axon:internalAlb"  # true/false; default: internal unless a certificate or allowed CIDRs are given
ALLOWED_CIDRS = "axon:allowedCidrs"  # comma-separated IPv4 CIDRs admitted to the ALB (default: see FrontDoor)
JWT_ISSUER = "axon:jwtIssuer"  # turns on the ALB's JWT verification on every production rule
JWKS_ENDPOINT = "axon:jwksEndpoint"
JWT_SCOPES = "axon:jwtScopes"  # comma-separated values of the token's scope claim


@dataclass(frozen=True)
class FrontDoorSettings:
    """How clients reach ECS APIs. The default (no context) is the safe one: an internal ALB, HTTP from the VPC."""

    certificate_arn: str | None = None
    domain_name: str | None = None
    internal: bool | None = None  # None: internal unless a certificate or allowed CIDRs make it public
    allowed_cidrs: tuple[str, ...] = ()
    auth: JwtAuth | None = None

    def __post_init__(self) -> None:
        if self.certificate_arn and not self.domain_name:
            raise ValueError(f"{CERTIFICATE_ARN} needs {DOMAIN_NAME}: the name the certificate covers")
        if self.auth is not None and not self.certificate_arn:
            raise ValueError(f"{JWT_ISSUER} needs {CERTIFICATE_ARN}: the ALB verifies JWTs on HTTPS listeners only")
        if self.internal is False and not self.certificate_arn and not self.allowed_cidrs:
            raise ValueError(
                f"a public ALB without {CERTIFICATE_ARN} would serve plain HTTP to the internet: give a certificate, "
                f"or {ALLOWED_CIDRS} to admit only those networks"
            )
        for cidr in self.allowed_cidrs:
            try:
                ipaddress.IPv4Network(cidr)
            except ValueError as error:
                raise ValueError(f"{ALLOWED_CIDRS}: {cidr!r} is not an IPv4 network ({error})") from None

    @property
    def is_internal(self) -> bool:
        if self.internal is not None:
            return self.internal
        return not self.certificate_arn and not self.allowed_cidrs

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn)


def _text(node: Node, key: str) -> str | None:
    value = node.try_get_context(key)
    return (str(value).strip() or None) if value is not None else None


def _items(node: Node, key: str) -> tuple[str, ...]:
    value: Any = node.try_get_context(key)
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


def _flag(node: Node, key: str) -> bool | None:
    value: Any = node.try_get_context(key)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"context {key} must be true or false, not {value!r}")
    return text == "true"


def front_door_settings(node: Node) -> FrontDoorSettings:
    """The front door as the context describes it (``axon:certificateArn`` and friends)."""
    issuer, jwks = _text(node, JWT_ISSUER), _text(node, JWKS_ENDPOINT)
    if bool(issuer) != bool(jwks):
        raise ValueError(f"{JWT_ISSUER} and {JWKS_ENDPOINT} go together")
    auth = JwtAuth(issuer=issuer, jwks_endpoint=jwks, scopes=_items(node, JWT_SCOPES)) if issuer and jwks else None
    return FrontDoorSettings(
        certificate_arn=_text(node, CERTIFICATE_ARN),
        domain_name=_text(node, DOMAIN_NAME),
        internal=_flag(node, INTERNAL_ALB),
        allowed_cidrs=_items(node, ALLOWED_CIDRS),
        auth=auth,
    )


def warm_pool_size(node: Node, max_instances: int) -> int:
    """``axon:ecsWarmPoolSize``: a whole number from 0 (the default: no warm pool) to the group's maximum, since a
    warm instance beyond the most the group may run could never enter service and would only bill its volume."""
    value: Any = node.try_get_context(ECS_WARM_POOL_SIZE)
    if value is None:
        return 0
    text = str(value).strip()
    if not text.isdigit():  # also refuses negatives and booleans
        raise ValueError(f"context {ECS_WARM_POOL_SIZE} must be a whole number of instances, not {value!r}")
    size = int(text)
    if size > max_instances:
        raise ValueError(
            f"context {ECS_WARM_POOL_SIZE} is {size}, more than the {max_instances} instances a GPU group may run"
        )
    return size
