"""``AxonEcs``'s front door and instance isolation, from the synthesized templates: internal HTTP by default, HTTPS
with a certificate (HTTP only redirects), JWT settings handed to the platform, the URL as an output, and tasks
kept off the instance role (IMDS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Aspects, Environment
from cfnlint.api import lint_file

from axon import names
from axon.names import ECS_STACK
from axon.platforms.ecs.config import EcsConfig
from cdk_app import context as ctx
from cdk_app.app import cdk_json_context
from cdk_app.aspects.least_privilege import LeastPrivilege
from cdk_app.context import FrontDoorSettings, front_door_settings
from cdk_app.nag import add_checks
from cdk_app.stacks.ecs_front_door import _peers
from cdk_app.stacks.ecs_stack import AxonEcsStack
from tests.cdk.conftest import Synth

pytestmark = pytest.mark.xdist_group("cdk")

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c"
HTTPS_CONTEXT = {
    ctx.CERTIFICATE_ARN: CERTIFICATE,
    ctx.DOMAIN_NAME: "models.example.com",
    ctx.JWT_ISSUER: "https://idp.example.com/",
    ctx.JWKS_ENDPOINT: "https://idp.example.com/.well-known/jwks.json",
    ctx.JWT_SCOPES: "axon/invoke",
}


@pytest.fixture(scope="module")
def https_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """``AxonEcs`` alone, with a certificate and JWT verification, cdk-nag and the least-privilege aspect on."""
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.https")), context={**cdk_json_context(), **HTTPS_CONTEXT})
    stack = AxonEcsStack(app, ECS_STACK, env=Environment(region="us-east-1"))
    Aspects.of(app).add(LeastPrivilege())
    add_checks(app)
    yield Synth.of(app.synth(), stack)


def _resources(synth: Synth, cfn_type: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.of_type(cfn_type).values()]


def _alb_ingress(synth: Synth) -> list[tuple[str, int]]:
    (group,) = [g for g in _resources(synth, "AWS::EC2::SecurityGroup") if "front door" in g["GroupDescription"]]
    return sorted((rule["CidrIp"], rule["FromPort"]) for rule in group.get("SecurityGroupIngress", []))


def _config(synth: Synth) -> str:
    (parameter,) = _resources(synth, "AWS::SSM::Parameter")
    return json.dumps(parameter["Value"])


# ---- the default: internal -----------------------------------------------------------------------------------


def test_by_default_the_alb_is_internal_and_admits_only_the_vpc_on_http(ecs_synth: Synth) -> None:
    (balancer,) = _resources(ecs_synth, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Scheme"] == "internal"
    assert _alb_ingress(ecs_synth) == [("10.0.0.0/16", 80)]  # nothing from 0.0.0.0/0
    (listener,) = _resources(ecs_synth, "AWS::ElasticLoadBalancingV2::Listener")
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert '\\"internal\\":true' in _config(ecs_synth).replace(" ", "")


def test_the_stack_outputs_the_url_of_the_apis(ecs_synth: Synth) -> None:
    outputs = ecs_synth.template.to_json()["Outputs"]
    assert outputs["Url"]["Value"] == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [_alb_id(ecs_synth), "DNSName"]}]]}


def _alb_id(synth: Synth) -> str:
    (logical_id,) = synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    return logical_id


def test_tasks_cannot_reach_the_instance_role_through_imds(ecs_synth: Synth) -> None:
    templates = _resources(ecs_synth, "AWS::EC2::LaunchTemplate")
    assert templates
    for template in templates:
        data = template["LaunchTemplateData"]
        assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
        user_data = json.dumps(data["UserData"])
        assert "ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config" in user_data


# ---- with a certificate --------------------------------------------------------------------------------------


def test_with_a_certificate_https_serves_the_rules_and_http_only_redirects(https_synth: Synth) -> None:
    assert https_synth.errors == ()  # cdk-nag and the least-privilege aspect
    (balancer,) = _resources(https_synth, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Scheme"] == "internet-facing"
    listeners = {lsn["Port"]: lsn for lsn in _resources(https_synth, "AWS::ElasticLoadBalancingV2::Listener")}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert (https["Protocol"], https["Certificates"]) == ("HTTPS", [{"CertificateArn": CERTIFICATE}])
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["DefaultActions"][0]["Type"] == "fixed-response"
    assert listeners[80]["DefaultActions"] == [
        {"Type": "redirect", "RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}}
    ]
    assert _alb_ingress(https_synth) == [("0.0.0.0/0", 80), ("0.0.0.0/0", 443)]


def test_with_a_certificate_the_platform_gets_the_https_listener_url_and_jwt_settings(https_synth: Synth) -> None:
    (parameter,) = _resources(https_synth, "AWS::SSM::Parameter")
    value = https_synth.stack.resolve(parameter["Value"])
    (https_id,) = [
        k
        for k, v in https_synth.of_type("AWS::ElasticLoadBalancingV2::Listener").items()
        if v["Properties"]["Port"] == 443
    ]
    assert {"Ref": https_id} in value["Fn::Join"][1]  # the rules go on the HTTPS listener
    rendered = json.dumps(value)
    assert '\\"url\\":\\"https://models.example.com\\"' in rendered
    assert '\\"internal\\":false' in rendered
    assert '\\"auth\\":{\\"issuer\\":\\"https://idp.example.com/\\"' in rendered
    assert https_synth.template.to_json()["Outputs"]["Url"]["Value"] == "https://models.example.com"


def test_cfn_lint_finds_nothing_in_the_https_template(https_synth: Synth) -> None:
    findings = [str(m) for m in lint_file(https_synth.template_path) if m.rule.id[0] in "EW"]
    assert [f for f in findings if "W3005" not in f] == []


# ---- settings ------------------------------------------------------------------------------------------------


def _settings(**context: Any) -> FrontDoorSettings:
    return front_door_settings(App(context=context).node)


def test_settings_default_to_internal_and_read_every_key() -> None:
    assert _settings() == FrontDoorSettings()
    assert _settings().is_internal and not _settings().https
    public = _settings(**HTTPS_CONTEXT)
    assert (public.is_internal, public.https, public.domain_name) == (False, True, "models.example.com")
    assert public.auth is not None and public.auth.scopes == ("axon/invoke",)
    private = _settings(**HTTPS_CONTEXT, **{ctx.INTERNAL_ALB: "true"})
    assert private.is_internal and private.https
    cidrs = _settings(**{ctx.ALLOWED_CIDRS: "203.0.113.0/24, 198.51.100.0/24"})
    assert (cidrs.is_internal, cidrs.allowed_cidrs) == (False, ("203.0.113.0/24", "198.51.100.0/24"))


@pytest.mark.parametrize(
    ("context", "match"),
    [
        ({ctx.CERTIFICATE_ARN: CERTIFICATE}, "needs axon:domainName"),
        ({ctx.JWT_ISSUER: "https://i/", ctx.JWKS_ENDPOINT: "https://i/k"}, "needs axon:certificateArn"),
        ({ctx.JWT_ISSUER: "https://i/"}, "go together"),
        ({ctx.INTERNAL_ALB: "false"}, "plain HTTP to the internet"),
        ({ctx.INTERNAL_ALB: "yes"}, "true or false"),
        ({ctx.ALLOWED_CIDRS: "10.0.0.0/33"}, "10.0.0.0/33"),
    ],
)
def test_contradictory_or_unsafe_settings_fail_the_synth_with_the_keys_named(
    context: dict[str, str], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _settings(**context)


def test_allowed_cidrs_replace_the_default_peers() -> None:
    def cidrs(settings: FrontDoorSettings) -> list[str]:
        return [peer.unique_id for peer in _peers("10.0.0.0/16", settings)]

    assert cidrs(FrontDoorSettings()) == ["10.0.0.0/16"]
    assert cidrs(FrontDoorSettings(allowed_cidrs=("203.0.113.0/24",))) == ["203.0.113.0/24"]
    public = FrontDoorSettings(certificate_arn=CERTIFICATE, domain_name="m.example.com")
    assert cidrs(public) == ["0.0.0.0/0"]


def test_the_config_model_accepts_the_auth_the_stack_writes() -> None:
    auth = _settings(**HTTPS_CONTEXT).auth
    assert auth is not None
    config = EcsConfig(
        cluster=names.ECS_CLUSTER,
        listener_arn="arn:listener",
        vpc_id="vpc-1",
        subnets=("subnet-1",),
        security_groups=("sg-1",),
        task_role_arn="arn:task",
        execution_role_arn="arn:execution",
        capacity_providers={"g5.xlarge": names.capacity_provider_name("g5.xlarge")},
        url="https://models.example.com",
        auth=auth.model_dump(mode="json"),
    )
    assert config.auth == auth and config.internal is False
