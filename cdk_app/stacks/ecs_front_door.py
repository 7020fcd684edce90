"""The ECS APIs' front door in ``AxonEcs``: the ALB, its security group, access logs and listeners.

Three shapes, chosen by context (:class:`cdk_app.context.FrontDoorSettings`):

- **no context (default)**: an *internal* ALB, HTTP on 80, admitted from the VPC's CIDR only. Nothing is on the
  internet in plain text; clients run in the VPC (or a peered network).
- **``axon:certificateArn`` + ``axon:domainName``**: an internet-facing ALB (internal with ``axon:internalAlb``),
  HTTPS on 443 with TLS 1.2+ (``ELBSecurityPolicy-TLS13-1-2-2021-06``), HTTP on 80 answering only with a
  permanent redirect to HTTPS. Admitted from anywhere, or from ``axon:allowedCidrs``.
- **``axon:allowedCidrs`` without a certificate**: internet-facing, HTTP on 80, admitted from those networks only
  (an explicit opt-in to plain text, e.g. an office range for a trial).

The per-API rules go on the listener this module returns (HTTPS when there is one); their paths and the JWT check
are the platform's (``axon.platforms.ecs.listener``). Construct ids are the stack's own, as before this module, so an
existing deployment keeps its resources where their shape allows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3

from axon import names
from cdk_app.context import FrontDoorSettings
from cdk_app.nag import acknowledge, skip_scan

SSL_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS  # TLS 1.3 and 1.2 only
_NOT_FOUND = {"content_type": "application/json", "message_body": '{"error": "no such API"}'}


@dataclass(frozen=True)
class FrontDoor:
    security_group: ec2.SecurityGroup
    load_balancer: elbv2.ApplicationLoadBalancer
    listener: elbv2.ApplicationListener  # the one that holds the per-API rules
    url: str  # how clients (and the control plane's smoke test) reach it


def build_front_door(stack: Stack, vpc: ec2.IVpc, vpc_cidr: str, settings: FrontDoorSettings) -> FrontDoor:
    """``vpc_cidr``: the VPC's address range as a literal where known, so cdk-nag can check the ingress rules."""
    group = ec2.SecurityGroup(stack, "AlbSecurityGroup", vpc=vpc, description="axon ALB: front door of the APIs")
    peers = _peers(vpc_cidr, settings)
    for port in (443, 80) if settings.https else (80,):
        for peer in peers:
            group.add_ingress_rule(peer, ec2.Port.tcp(port), "clients of the APIs")
    if settings.https and not settings.is_internal and not settings.allowed_cidrs:
        acknowledge(
            group,
            "AwsSolutions-EC23",
            "Public HTTPS front door of the APIs (80 only redirects to 443); restrict with axon:allowedCidrs.",
        )
    balancer = elbv2.ApplicationLoadBalancer(
        stack,
        "Alb",
        load_balancer_name=names.ECS_LOAD_BALANCER,
        vpc=vpc,
        internet_facing=not settings.is_internal,
        security_group=group,
        drop_invalid_header_fields=True,
    )
    balancer.log_access_logs(_access_logs(stack), prefix="alb")
    if settings.https:
        assert settings.certificate_arn is not None and settings.domain_name is not None  # FrontDoorSettings checks
        listener = balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(settings.certificate_arn)],
            ssl_policy=SSL_POLICY,
            open=False,  # the security group above admits the clients
            default_action=elbv2.ListenerAction.fixed_response(404, **_NOT_FOUND),
        )
        balancer.add_listener(
            "Http",
            port=80,
            open=False,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port="443", permanent=True),
        )
        return FrontDoor(group, balancer, listener, f"https://{settings.domain_name}")
    listener = balancer.add_listener(
        "Http", port=80, open=False, default_action=elbv2.ListenerAction.fixed_response(404, **_NOT_FOUND)
    )
    for check_id in ("CKV_AWS_2", "CKV_AWS_103"):
        skip_scan(
            listener,
            check_id,
            "Plain HTTP only without a certificate: internal (reachable from the VPC only) by default, or from the "
            "operator's axon:allowedCidrs by explicit opt-in; with axon:certificateArn the ALB serves HTTPS and "
            "this port only redirects.",
        )
    return FrontDoor(group, balancer, listener, f"http://{balancer.load_balancer_dns_name}")


def _peers(vpc_cidr: str, settings: FrontDoorSettings) -> list[ec2.IPeer]:
    """Who may connect: the given CIDRs, else the VPC (internal), else anyone (public HTTPS)."""
    if settings.allowed_cidrs:
        return [ec2.Peer.ipv4(cidr) for cidr in settings.allowed_cidrs]
    if settings.is_internal:
        return [ec2.Peer.ipv4(vpc_cidr)]
    return [ec2.Peer.any_ipv4()]


def _access_logs(stack: Stack) -> s3.Bucket:
    bucket = s3.Bucket(
        stack,
        "AlbAccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,  # ALB access logs support SSE-S3 only
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(bucket, "AwsSolutions-S1", "This bucket receives the ALB's access logs; it is their sink.")
    skip_scan(bucket, "CKV_AWS_18", "This bucket receives the ALB's access logs; logging it to itself would loop.")
    skip_scan(
        bucket,
        "CKV_AWS_21",
        "Access logs are written once by the ELB log delivery service and expire after 90 days; versions would "
        "only keep deleted logs longer.",
    )
    return bucket
