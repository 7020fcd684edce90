"""End to end through the real ASL: S3 put -> EventBridge -> OnUpload -> Step Functions -> Lambdas -> SageMaker."""

from __future__ import annotations

import json

import pytest

from axon import names
from axon.deps import default_deps
from axon.registry import VersionStatus
from axon.rollout.intake import finish_and_start_next
from axon_local.patches import fire_schedules, sagemaker_fleet
from tests.functional.rollout.conftest import Stack, bundle, client, put_in_flight


def _live_v1(stack: Stack, spec: str = "") -> str:
    stack.push_image()
    version_id = stack.upload("iris", bundle(spec))
    assert stack.wait_final("iris", version_id).status == VersionStatus.LIVE
    return version_id


def test_first_upload_goes_live_on_a_new_endpoint(stack: Stack) -> None:
    stack.push_image()
    version_id = stack.upload("iris", bundle("rollout: {strategy: canary}"))
    record = stack.wait_final("iris", version_id)
    assert record.status == VersionStatus.LIVE, record.reason
    assert (record.version, record.traffic_percent) == ("v1", 100)
    assert record.image_uri.endswith(f":rt-{record.image_key}")
    assert record.model_data_uri == "s3://axon-models/versions/iris/v1/bundle.tar.gz"
    endpoint = stack.endpoint("iris")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", "axon-iris-v1")
    api = stack.registry.get_api("iris")
    assert api is not None and api.live_seq == 1 and api.lease_owner is None
    assert [e["status"] for e in stack.executions()] == ["SUCCEEDED"]
    assert stack.builds() == []  # the image was in ECR: no build
    assert any("reusing image" in message for message in stack.timeline("iris", version_id))


@pytest.mark.parametrize(
    ("spec", "routing"),
    [
        ("", {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}),
        (
            "rollout: {strategy: canary, canary_percent: 20, bake_seconds: 30}",
            {"Type": "CANARY", "WaitIntervalInSeconds": 30, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20}},
        ),
        (
            "rollout: {strategy: linear, linear_step_percent: 25, bake_seconds: 10}",
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 10,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
        ),
    ],
)
def test_a_second_version_is_a_blue_green_update_per_strategy(
    stack: Stack, spec: str, routing: dict[str, object]
) -> None:
    first = _live_v1(stack)
    sagemaker_fleet().hold_traffic()  # the update stays at its first traffic step until the split is recorded
    second = stack.upload("iris", bundle(spec))
    stack.wait_until(
        lambda: any(e.data.get("status") == "shifting" for e in stack.registry.timeline("iris", 2)),
        "the traffic split to be recorded",
    )
    sagemaker_fleet().release()
    record = stack.wait_final("iris", second)
    assert record.status == VersionStatus.LIVE, record.reason
    endpoint = stack.endpoint("iris")
    assert endpoint["EndpointConfigName"] == "axon-iris-v2"
    config = endpoint["LastDeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == routing
    assert config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "axon-iris-5xx"},
        {"AlarmName": "axon-iris-latency"},
    ]
    assert stack.version("iris", first).status == VersionStatus.SUPERSEDED
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="axon-iris-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == ["axon-iris-5xx", "axon-iris-latency"]


def test_an_update_sagemaker_rolls_back_is_rolled_back_and_v1_keeps_serving(stack: Stack) -> None:
    _live_v1(stack)
    sagemaker_fleet().hold_launches()
    second = stack.upload("iris", bundle("rollout: {strategy: canary}"))
    stack.wait_until(lambda: stack.endpoint_status("iris") == "Updating", "the update to start")
    client("cloudwatch").set_alarm_state(AlarmName="axon-iris-5xx", StateValue="ALARM", StateReason="5XX on v2")
    sagemaker_fleet().release()
    record = stack.wait_final("iris", second)
    assert record.status == VersionStatus.ROLLED_BACK
    assert record.reason is not None and record.reason.code == "deployment.rolled_back"
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v1"
    api = stack.registry.get_api("iris")
    assert api is not None and api.live_seq == 1
    _, configs, models = stack.sagemaker_resources()
    assert configs == ["axon-iris-v1"] and models == ["axon-iris-v1"]  # what v2 created is gone


def test_a_failed_first_endpoint_leaves_nothing_behind(stack: Stack) -> None:
    stack.push_image()
    sagemaker_fleet().fail_next_launch("axon-iris", "CannotStartContainerError")
    version_id = stack.upload("iris", bundle())
    record = stack.wait_final("iris", version_id)
    assert record.status == VersionStatus.FAILED
    assert record.reason is not None and record.reason.code == "deployment.failed"
    stack.wait_until(lambda: stack.sagemaker_resources() == ([], [], []), "nothing left behind")


def test_a_duplicated_event_starts_one_rollout(stack: Stack) -> None:
    stack.push_image()
    version_id = stack.upload("iris", bundle())
    stack.wait_final("iris", version_id)
    # EventBridge delivers at least once: replay the very same event to the intake.
    events = client("events")
    head = client("s3").head_object(Bucket="axon-models", Key="apis/iris/bundle.tar.gz", VersionId=version_id)
    detail = {
        "version": "0",
        "bucket": {"name": "axon-models"},
        "object": {
            "key": "apis/iris/bundle.tar.gz",
            "size": head["ContentLength"],
            "etag": head["ETag"].strip('"'),
            "version-id": version_id,
        },
        "reason": "PutObject",
    }
    for _ in range(2):
        events.put_events(
            Entries=[
                {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail), "Resources": []}
            ]
        )
    assert len(stack.executions()) == 1
    assert [v.version for v in stack.registry.list_versions("iris")] == ["v1"]


def test_uploads_during_a_rollout_only_the_newest_rolls_out_next(stack: Stack) -> None:
    _live_v1(stack)
    api = stack.registry.get_api("iris")
    assert api is not None
    # Hold the lease as a running rollout would, upload twice, then let the holder finish.
    stack.registry.acquire_lease("iris", "manual-rollout", 1, lease_seconds=600)
    older = stack.upload("iris", bundle("serving: {max_concurrency: 2}"))
    newer = stack.upload("iris", bundle("serving: {max_concurrency: 3}"))
    assert stack.version("iris", older).status == VersionStatus.PENDING
    assert stack.version("iris", newer).queued
    finish_and_start_next(default_deps(), "iris", 1, "manual-rollout")
    assert stack.wait_final("iris", newer).status == VersionStatus.LIVE
    assert stack.version("iris", older).status == VersionStatus.SUPERSEDED
    assert stack.endpoint("iris")["EndpointConfigName"] == "axon-iris-v3"


def test_the_schedule_runs_the_autoscaler_which_scales_the_live_endpoint(stack: Stack) -> None:
    _live_v1(stack, "autoscaling: {min_replicas: 1, max_replicas: 8, target_in_flight: 1}")
    put_in_flight("iris", 6.0)
    assert fire_schedules() == 2  # the autoscaler and the reconciler
    variant = stack.endpoint("iris")["ProductionVariants"][0]
    assert variant["DesiredInstanceCount"] > 1
    decisions = client("dynamodb").query(
        TableName="axon-registry",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "API#iris"}, ":prefix": {"S": "DECISION#"}},
    )["Items"]
    assert len(decisions) == 1 and int(decisions[0]["desired"]["N"]) == variant["DesiredInstanceCount"]


def test_another_apis_forged_signal_does_not_scale_an_api(stack: Stack) -> None:
    """EMF lets any API's code put ``InFlight`` into ``Axon/Api/iris`` with the ``Api``/``Variant`` dimensions;
    only the key the registry gave iris's replicas (and nobody else) counts."""
    _live_v1(stack, "autoscaling: {min_replicas: 1, max_replicas: 8, target_in_flight: 1}")
    api = stack.registry.get_api("iris")
    assert api is not None and len(api.signal_key) == 32
    model = client("sagemaker").describe_model(ModelName="axon-iris-v1")
    assert model["PrimaryContainer"]["Environment"][names.SIGNAL_KEY_ENV] == api.signal_key
    put_in_flight("iris", 50.0, signal_key="")  # what an EMF line printed by another API can create
    put_in_flight("iris", 50.0, signal_key="0" * 32)  # a guessed key
    fire_schedules()
    assert stack.endpoint("iris")["ProductionVariants"][0]["DesiredInstanceCount"] == 1


def test_only_the_last_three_live_versions_keep_their_models_and_configs(stack: Stack) -> None:
    stack.push_image()
    for n in range(1, 6):
        record = stack.wait_final("iris", stack.upload("iris", bundle(f"serving: {{max_concurrency: {n}}}")))
        assert record.status == VersionStatus.LIVE, record.reason
    _, configs, models = stack.sagemaker_resources()
    assert configs == ["axon-iris-v3", "axon-iris-v4", "axon-iris-v5"]
    assert models == ["axon-iris-v3", "axon-iris-v4", "axon-iris-v5"]
    assert [v.status for v in stack.registry.list_versions("iris")] == [VersionStatus.SUPERSEDED] * 4 + [
        VersionStatus.LIVE
    ]
