"""The single port: the real serving runtime behind the router, the stats read API, metrics, moto passthrough."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from axon_local.dataplane import InFlightPublisher, axon_serve_command
from axon_local.frontdoor import STATS_PATH
from tests.integration.local_sagemaker.conftest import IMAGE, Stack, make_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PREDICTOR = """
class Predictor:
    def __init__(self, config, model_dir):
        self.scale = config.get("scale", 1)

    def predict(self, payload):
        return {"y": [v * self.scale for v in payload["x"]]}
"""


def test_the_real_serving_runtime_answers_through_boto3(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, command=axon_serve_command, publish_in_flight=False)
    try:
        url = stack.upload(
            "apis/real/v1.tar.gz", {"predictor.py": PREDICTOR, "axon.yaml": "predictor: {config: {scale: 3}}\n"}
        )
        stack.sm.create_model(ModelName="real", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
        stack.sm.create_endpoint_config(
            EndpointConfigName="real",
            ProductionVariants=[
                {"VariantName": "v-1", "ModelName": "real", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
        stack.sm.create_endpoint(EndpointName="axon-real", EndpointConfigName="real")
        stack.sm.get_waiter("endpoint_in_service").wait(
            EndpointName="axon-real", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )
        assert stack.predict("axon-real", {"x": [1, 2]}) == ({"y": [3, 6]}, "v-1")
    finally:
        stack.door.close()


def test_stats_read_api_and_in_flight_metric(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, publish_in_flight=False)  # this test publishes by hand, not every 10 s
    try:
        _stats_and_metric(stack)
    finally:
        stack.door.close()


def _stats_and_metric(stack: Stack) -> None:
    stack.sm.create_endpoint(EndpointName="axon-demo", EndpointConfigName=stack.version("v1"))
    stack.wait_status("axon-demo")
    for _ in range(3):
        stack.predict("axon-demo", {})
    variants = httpx.get(f"{stack.door.url}{STATS_PATH}/axon-demo").json()["variants"]
    rows = list(variants.values())
    assert [(r["variant"], r["requests"], r["count_2xx"]) for r in rows] == [("AllTraffic", 3, 3)]
    assert rows[0]["p50_ms"] > 0 and rows[0]["p99_ms"] >= rows[0]["p50_ms"]
    assert httpx.get(f"{stack.door.url}{STATS_PATH}/axon-other").status_code == 404
    assert [r["endpoint"] for r in httpx.get(f"{stack.door.url}{STATS_PATH}").json()] == ["axon-demo"]
    publisher = InFlightPublisher(stack.door._router, stack.cloudwatch)
    publisher.sample()
    publisher.publish()
    now = datetime.now(UTC)
    data = stack.cloudwatch.get_metric_data(
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "Axon/Api/demo",
                        "MetricName": "InFlight",
                        "Dimensions": [{"Name": "Api", "Value": "demo"}, {"Name": "Variant", "Value": "AllTraffic"}],
                    },
                    "Period": 10,
                    "Stat": "Average",
                },
            }
        ],
    )
    assert data["MetricDataResults"][0]["Values"] == [0.0]


def test_other_aws_apis_reach_moto_and_unemulated_sagemaker_calls_too(stack: Stack) -> None:
    assert stack.s3.list_buckets()["Buckets"][0]["Name"] == "axon-models"
    with pytest.raises(ClientError) as error:  # moto answers it: no training job of that name
        stack.sm.describe_training_job(TrainingJobName="nope")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_close_stops_replicas_of_endpoints_still_running(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, publish_in_flight=False)
    stack.sm.create_endpoint(EndpointName="axon-demo", EndpointConfigName=stack.version("v1", count=2))
    stack.wait_status("axon-demo")
    replicas = [r for f in list(stack.door.fleet._router._fleets) for r in stack.door.fleet._router.replicas(f)]
    stack.door.close()
    assert all(r.process.exit_code() is not None for r in replicas) and len(replicas) == 2
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.door.url}{STATS_PATH}", timeout=2)


def test_a_bundle_that_is_not_a_tarball_fails_the_endpoint(stack: Stack) -> None:
    stack.s3.put_object(Bucket="axon-models", Key="apis/demo/bad.tar.gz", Body=b"not a tarball")
    stack.sm.create_model(
        ModelName="bad", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://axon-models/apis/demo/bad.tar.gz"}
    )
    stack.sm.create_endpoint_config(
        EndpointConfigName="bad",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "bad", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    stack.sm.create_endpoint(EndpointName="axon-bad", EndpointConfigName="bad")
    body = stack.wait_status("axon-bad")
    assert body["EndpointStatus"] == "Failed"
    assert body["FailureReason"].startswith("Could not extract the model data at s3://axon-models/apis/demo/bad")
