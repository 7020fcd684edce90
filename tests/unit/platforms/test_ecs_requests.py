"""Pure ECS request builders as dict equality: names, task definition, service, target group, rules, alarms."""

from __future__ import annotations

import pytest

from axon import names
from axon.platforms.base import VersionRef
from axon.platforms.ecs import listener as ecs_listener
from axon.platforms.ecs import service as ecs_service
from axon.platforms.ecs import shift as ecs_shift
from axon.platforms.ecs.config import EcsConfig, JwtAuth
from axon.spec import load_spec_text

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/axon/50dc6c495c0c9188/f2f7dc8efc522ab2"
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ax-iris-v2-92d2d5/73e2d6bc24d8a067"
CONFIG = EcsConfig(
    cluster=names.ECS_CLUSTER,
    listener_arn=LISTENER,
    vpc_id="vpc-1",
    subnets=("subnet-a", "subnet-b"),
    security_groups=("sg-tasks",),
    task_role_arn=f"arn:aws:iam::123456789012:role/{names.ECS_TASK_ROLE}",
    execution_role_arn=f"arn:aws:iam::123456789012:role/{names.ECS_EXECUTION_ROLE}",
    capacity_providers={"g5.xlarge": names.capacity_provider_name("g5.xlarge")},
    url="http://axon-1.eu-west-1.elb.amazonaws.com",
)
TAGS = [{"key": "axon:api", "value": "iris"}, {"key": "axon:version", "value": "v2"}]


def _version(yaml: str = "compute: {platform: ecs, instance_type: g5.xlarge, gpu: 1}") -> VersionRef:
    return VersionRef(
        api="iris",
        label="v2",
        spec=load_spec_text(yaml),
        image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/axon-serving:rt-gpu",
        model_data_uri="s3://axon-models/versions/iris/v2/bundle.tar.gz",
        signal_key="0123456789abcdef0123456789abcdef",
    )


def test_task_definition_runs_the_serving_image_on_a_gpu_with_the_bundle_uri_and_logs() -> None:
    assert ecs_service.task_definition_request(_version(), CONFIG) == {
        "family": "axon-iris-v2",
        "taskRoleArn": CONFIG.task_role_arn,
        "executionRoleArn": CONFIG.execution_role_arn,
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "serving",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/axon-serving:rt-gpu",
                "essential": True,
                "memoryReservation": 2048,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [
                    {"name": "AXON_API", "value": "iris"},
                    {"name": "AXON_BUNDLE_URI", "value": "s3://axon-models/versions/iris/v2/bundle.tar.gz"},
                    {"name": "AXON_SIGNAL_KEY", "value": "0123456789abcdef0123456789abcdef"},
                    {"name": "AXON_VARIANT", "value": "AllTraffic"},
                    {"name": "AXON_VERSION", "value": "v2"},
                ],
                "healthCheck": {
                    "command": [
                        "CMD",
                        "python",
                        "-c",
                        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=2)",
                    ],
                    "interval": 15,
                    "timeout": 5,
                    "retries": 3,
                    "startPeriod": 300,
                },
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/aws/sagemaker/Endpoints/axon-iris",
                        "awslogs-region": "eu-west-1",
                        "awslogs-stream-prefix": "v2",
                        "awslogs-create-group": "true",
                    },
                },
                "resourceRequirements": [{"type": "GPU", "value": "1"}],
            }
        ],
        "tags": TAGS,
    }


def test_a_cpu_task_asks_for_no_gpu() -> None:
    request = ecs_service.task_definition_request(
        _version("compute: {platform: ecs, instance_type: g5.xlarge}"), CONFIG
    )
    assert "resourceRequirements" not in request["containerDefinitions"][0]


def test_service_runs_on_the_instance_types_capacity_provider_behind_its_target_group() -> None:
    assert ecs_service.service_request(_version(), CONFIG, "arn:task:1", TARGET_GROUP, 3) == {
        "cluster": "axon",
        "serviceName": "axon-iris-v2",
        "taskDefinition": "arn:task:1",
        "desiredCount": 3,
        "capacityProviderStrategy": [{"capacityProvider": names.capacity_provider_name("g5.xlarge"), "weight": 1}],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-a", "subnet-b"],
                "securityGroups": ["sg-tasks"],
                "assignPublicIp": "DISABLED",
            }
        },
        "loadBalancers": [{"targetGroupArn": TARGET_GROUP, "containerName": "serving", "containerPort": 8080}],
        "healthCheckGracePeriodSeconds": 600,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "tags": TAGS,
    }


def test_target_group_checks_ping_on_the_task_ip() -> None:
    assert ecs_listener.target_group_request(_version(), "vpc-1") == {
        "Name": ecs_listener.target_group_name("iris", "v2"),
        "Protocol": "HTTP",
        "Port": 8080,
        "VpcId": "vpc-1",
        "TargetType": "ip",
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPath": "/ping",
        "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 2,
        "UnhealthyThresholdCount": 3,
        "Matcher": {"HttpCode": "200"},
        "Tags": [{"Key": "axon:api", "Value": "iris"}, {"Key": "axon:version", "Value": "v2"}],
    }
    assert ecs_listener.target_group_attributes_request(TARGET_GROUP) == {
        "TargetGroupArn": TARGET_GROUP,
        "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
    }


def test_rules_forward_weighted_and_rewrite_the_api_prefix_away() -> None:
    assert ecs_listener.rule_request(
        LISTENER, 4, ecs_listener.production_conditions("iris"), "iris", [("blue", 90), ("green", 10)]
    ) == {
        "ListenerArn": LISTENER,
        "Priority": 4,
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/apis/iris/invocations"]}}],
        "Actions": [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": "blue", "Weight": 90},
                        {"TargetGroupArn": "green", "Weight": 10},
                    ]
                },
            }
        ],
        "Transforms": [
            {
                "Type": "url-rewrite",
                "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/apis/iris/(.*)$", "Replace": "/$1"}]},
            }
        ],
        "Tags": [{"Key": "axon:api", "Value": "iris"}],
    }
    assert ecs_listener.test_conditions("iris", "v2", "5ec")[1:] == [
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Axon-Version", "Values": ["v2"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Axon-Test-Token", "Values": ["5ec"]}},
    ]
    assert ecs_listener.modify_rule_request("rule", "iris", [("green", 100)]) == {
        "RuleArn": "rule",
        "Conditions": ecs_listener.production_conditions("iris"),  # a legacy /apis/iris/* rule is narrowed too
        "Actions": ecs_listener.forward_actions([("green", 100)]),
    }


def test_only_the_inference_path_is_routed_not_metrics_or_ping() -> None:
    (condition,) = ecs_listener.production_conditions("iris")
    assert condition["PathPatternConfig"]["Values"] == ["/apis/iris/invocations"]
    assert ecs_listener.test_conditions("iris", "v2", "5ec")[0] == condition


def test_test_tokens_are_fresh_128_bit_lower_case_hex() -> None:
    tokens = {ecs_listener.new_test_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) == 32 and t == t.lower() and int(t, 16) >= 0 for t in tokens)
    conditions = ecs_listener.test_conditions("iris", "v2", "abc")
    assert ecs_listener.header_condition(conditions, "x-axon-test-token") == "abc"
    assert ecs_listener.header_condition(conditions, ecs_listener.VERSION_HEADER) == "v2"
    assert (
        ecs_listener.header_condition(ecs_listener.production_conditions("iris"), ecs_listener.TEST_TOKEN_HEADER)
        is None
    )


def test_with_jwt_auth_production_rules_verify_the_token_before_forwarding() -> None:
    auth = JwtAuth(
        issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks", scopes=("axon/invoke",)
    )
    assert ecs_listener.forward_actions([("green", 100)], auth) == [
        {
            "Type": "jwt-validation",
            "Order": 1,
            "JwtValidationConfig": {
                "JwksEndpoint": "https://idp.example.com/jwks",
                "Issuer": "https://idp.example.com/",
                "AdditionalClaims": [{"Format": "space-separated-values", "Name": "scope", "Values": ["axon/invoke"]}],
            },
        },
        {
            "Type": "forward",
            "Order": 2,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "green", "Weight": 100}]},
        },
    ]
    request = ecs_listener.rule_request(
        LISTENER, 2, ecs_listener.production_conditions("iris"), "iris", [("g", 1)], auth
    )
    assert [a["Type"] for a in request["Actions"]] == ["jwt-validation", "forward"]
    modify = ecs_listener.modify_rule_request("rule", "iris", [("g", 1)], auth)
    assert [a["Type"] for a in modify["Actions"]] == ["jwt-validation", "forward"]
    without_scopes = JwtAuth(issuer="https://idp.example.com/", jwks_endpoint="https://idp.example.com/jwks")
    assert "AdditionalClaims" not in ecs_listener.auth_actions(without_scopes)[0]["JwtValidationConfig"]


def test_conditions_compare_equal_as_sent_and_as_described() -> None:
    described = [
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-axon-test-token", "Values": ["5ec"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-axon-version", "Values": ["v2"]}},
        {
            "Field": "path-pattern",
            "Values": ["/apis/iris/invocations"],
            "PathPatternConfig": {"Values": ["/apis/iris/invocations"]},
        },
    ]
    assert ecs_listener.conditions_key(described) == ecs_listener.conditions_key(
        ecs_listener.test_conditions("iris", "v2", "5ec")
    )
    assert ecs_listener.conditions_key(described) != ecs_listener.conditions_key(
        ecs_listener.test_conditions("iris", "v3", "5ec")
    )
    host = [{"Field": "host-header", "Values": ["a.example.com"]}]
    assert ecs_listener.conditions_key(host) == (("host-header", "", ("a.example.com",)),)


def test_alarms_watch_the_new_target_group_only() -> None:
    five_xx, latency = ecs_listener.alarm_requests(_version(), LISTENER, TARGET_GROUP)
    dimensions = [
        {"Name": "LoadBalancer", "Value": "app/axon/50dc6c495c0c9188"},
        {"Name": "TargetGroup", "Value": "targetgroup/ax-iris-v2-92d2d5/73e2d6bc24d8a067"},
    ]
    common = {
        "Namespace": "AWS/ApplicationELB",
        "Dimensions": dimensions,
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
        "ComparisonOperator": "GreaterThanThreshold",
    }
    assert five_xx == {
        **common,
        "AlarmName": "axon-iris-5xx",
        "AlarmDescription": "axon: 5XX answers of iris v2; rolls the rollout back",
        "MetricName": "HTTPCode_Target_5XX_Count",
        "Statistic": "Sum",
        "Threshold": 0.0,
    }
    assert latency == {
        **common,
        "AlarmName": "axon-iris-latency",
        "AlarmDescription": "axon: latency of iris v2; rolls the rollout back",
        "MetricName": "TargetResponseTime",
        "Statistic": "Average",
        "Threshold": 48.0,  # 80 % of the 60 s request timeout
    }


@pytest.mark.parametrize(
    ("api", "label", "name"),
    [
        ("iris", "v3", "ax-iris-v3-a0d275"),
        ("a" * 40, "v123", "ax-aaaaaaaaaaaaaaaaa-v123-075843"),  # capped at 32 characters
        ("abcdefghijklmnopq-rs", "v12", "ax-abcdefghijklmnopq-v12-9ed025"),  # no hyphen left dangling by the cut
    ],
)
def test_target_group_names_fit_32_characters_and_stay_distinct(api: str, label: str, name: str) -> None:
    assert ecs_listener.target_group_name(api, label) == name
    assert len(name) <= 32


@pytest.mark.parametrize(
    ("name", "label"),
    [("axon-iris-v3", "v3"), ("axon-iris-2-v1", None), ("axon-iris-", None), ("axon-other-v1", None)],
)
def test_label_of_tells_an_apis_names_from_a_longer_apis(name: str, label: str | None) -> None:
    assert ecs_service.label_of("iris", name) == label


@pytest.mark.parametrize(
    ("steps", "current", "expected"),
    [([10, 100], 0, 10), ([10, 100], 10, 100), ([10, 100], 100, None), ([30, 60, 90, 100], 45, 60), ([100], 0, 100)],
)
def test_next_percent(steps: list[int], current: int, expected: int | None) -> None:
    assert ecs_shift.next_percent(steps, current) == expected


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("25@1700000000", (25, 1700000000)), (None, None), ("", None), ("x@1", None), ("25@", None), ("25", None)],
)
def test_shift_tag_round_trip_and_foreign_values(value: str | None, parsed: tuple[int, int] | None) -> None:
    assert ecs_shift.parse_shift_tag(value) == parsed
    assert ecs_shift.parse_shift_tag(ecs_shift.shift_tag(25, 1700000000.9)) == (25, 1700000000)


def test_priority_slots_pair_the_test_rule_before_the_production_rule() -> None:
    assert ecs_listener.rule_priorities(1) == (1, 2)
    assert ecs_listener.free_slot(set()) == 1
    assert ecs_listener.free_slot({1, 2, 4}) == 3  # slot 2 (3, 4) is half taken
    with pytest.raises(ValueError, match="no free rule priority"):
        ecs_listener.free_slot(set(range(1, 50_001)))


def test_arn_helpers() -> None:
    assert ecs_listener.load_balancer_dimension(LISTENER) == "app/axon/50dc6c495c0c9188"
    assert ecs_listener.arn_resource(TARGET_GROUP) == "targetgroup/ax-iris-v2-92d2d5/73e2d6bc24d8a067"
    assert ecs_service.region_of(LISTENER) == "eu-west-1"
