import pytest

from axon.platforms.base import VersionRef
from axon.platforms.sagemaker import specs
from axon.spec import RolloutSpec, load_spec_text


def _version(yaml: str = "") -> VersionRef:
    return VersionRef(
        api="iris",
        label="v2",
        spec=load_spec_text(yaml),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-abc",
        model_data_uri="s3://axon-models/versions/iris/v2/bundle.tar.gz",
    )


@pytest.mark.parametrize(
    ("rollout", "routing"),
    [
        (RolloutSpec(), {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}),
        (
            RolloutSpec(strategy="canary", canary_percent=10, bake_seconds=300),
            {"Type": "CANARY", "WaitIntervalInSeconds": 300, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        ),
        (
            RolloutSpec(strategy="canary", canary_percent=80),
            {"Type": "CANARY", "WaitIntervalInSeconds": 0, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}},
        ),
        (
            RolloutSpec(strategy="linear", linear_step_percent=25, bake_seconds=60),
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 60,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
        ),
        (
            RolloutSpec(strategy="linear", linear_step_percent=5),
            {"Type": "LINEAR", "WaitIntervalInSeconds": 0, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        ),
    ],
)
def test_strategy_maps_to_traffic_routing(rollout: RolloutSpec, routing: dict[str, object]) -> None:
    assert specs.traffic_routing(rollout) == routing


def test_update_request_has_blue_green_policy_and_alarms() -> None:
    request = specs.update_endpoint_request(
        _version("rollout: {strategy: linear, linear_step_percent: 25, bake_seconds: 600}"),
        ["axon-iris-5xx", "axon-iris-latency"],
    )
    assert request["EndpointName"] == "axon-iris"
    assert request["EndpointConfigName"] == "axon-iris-v2"
    policy = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["Type"] == "LINEAR"
    # 4 steps x 600 s bake + 1,800 s provisioning allowance, inside SageMaker's 600-28,800 range.
    assert policy["MaximumExecutionTimeoutInSeconds"] == 4 * 600 + 1800
    assert request["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "axon-iris-5xx"}, {"AlarmName": "axon-iris-latency"}]
    }


def test_execution_timeout_is_clamped_to_sagemakers_range() -> None:
    long = specs.deployment_config(RolloutSpec(strategy="linear", linear_step_percent=10, bake_seconds=3600), [])
    assert long["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] == 28_800


def test_model_and_config_requests() -> None:
    version = _version("compute: {instance_type: ml.g5.xlarge}")
    model = specs.model_request(version, "arn:aws:iam::123456789012:role/axon-sagemaker-execution")
    assert model["ModelName"] == "axon-iris-v2"
    assert model["PrimaryContainer"]["ModelDataUrl"] == version.model_data_uri
    assert model["PrimaryContainer"]["Environment"]["AXON_API"] == "iris"
    config = specs.endpoint_config_request(version, 3)
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "axon-iris-v2",
            "InitialInstanceCount": 3,
            "InstanceType": "ml.g5.xlarge",
            "InitialVariantWeight": 1.0,
        }
    ]


def test_alarms_watch_only_the_new_fleet() -> None:
    alarms = specs.alarm_requests(_version("serving: {request_timeout_seconds: 10}"))
    assert [a["AlarmName"] for a in alarms] == ["axon-iris-5xx", "axon-iris-latency"]
    for alarm in alarms:
        assert {"Name": "EndpointConfigName", "Value": "axon-iris-v2"} in alarm["Dimensions"]
        assert alarm["TreatMissingData"] == "notBreaching"
    assert alarms[1]["Threshold"] == 8_000_000  # 80 % of 10 s, in microseconds
