"""Patch 2: EventBridge delivers S3 and PutEvents events to Lambda, Step Functions and SNS targets."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from axon.rollout.events import upload_event_pattern
from tests.functional.harness import handlers
from tests.functional.harness.conftest import client, create_function

BUCKET = "axon-models"
PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def events(aws: None) -> Any:
    return client("events")


def upload_rule(events: Any, s3: Any, targets: list[dict[str, Any]]) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(Name="upload", EventPattern=json.dumps(upload_event_pattern(BUCKET)))
    events.put_targets(Rule="upload", Targets=targets)


def test_an_s3_upload_matching_the_real_pattern_starts_an_execution_and_invokes_lambda(
    events: Any, lambda_client: Any, role_arn: str
) -> None:
    s3 = client("s3")
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name="rollout", definition=json.dumps(PASS_MACHINE), roleArn=role_arn)
    function = create_function(lambda_client, role_arn, "on-upload", "record")
    upload_rule(
        events,
        s3,
        [{"Id": "sfn", "Arn": machine["stateMachineArn"], "RoleArn": role_arn}, {"Id": "fn", "Arn": function}],
    )

    s3.put_object(Bucket=BUCKET, Key="apis/iris/v1.tar.gz", Body=b"bundle")
    s3.put_object(Bucket=BUCKET, Key="apis/iris/notes.txt", Body=b"not a bundle")
    s3.put_object(Bucket=BUCKET, Key="apis/iris/v2.tar.gz", Body=b"bundle")

    executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert len(executions) == 2, "one execution per matching upload, each with a unique name"
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    assert sorted(event["detail"]["object"]["key"] for event in inputs) == [
        "apis/iris/v1.tar.gz",
        "apis/iris/v2.tar.gz",
    ]
    assert [event["detail"]["object"]["key"] for event in handlers.received] == [
        "apis/iris/v1.tar.gz",
        "apis/iris/v2.tar.gz",
    ]
    for event in handlers.received:
        assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created"
        assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
        assert "ingestion-time" not in event
    ids = {event["id"] for event in handlers.received}
    assert len(ids) == 2, "every S3 event gets its own id"
    assert ids == {event["id"] for event in inputs}, "every target of one event sees the same id"


@pytest.mark.parametrize(
    ("target_options", "expected"),
    [
        ({"Input": '{"fixed": true}'}, {"fixed": True}),
        ({"InputPath": "$.detail"}, {"api": "iris"}),
        (
            {"InputTransformer": {"InputPathsMap": {"api": "$.detail.api"}, "InputTemplate": '{"name": "<api>"}'}},
            {"name": "iris"},
        ),
    ],
)
def test_put_events_honours_input_input_path_and_input_transformer(
    events: Any, lambda_client: Any, role_arn: str, target_options: dict[str, Any], expected: Any
) -> None:
    function = create_function(lambda_client, role_arn, "record", "record")
    events.put_rule(Name="custom", EventPattern=json.dumps({"source": ["axon.test"]}))
    events.put_targets(Rule="custom", Targets=[{"Id": "fn", "Arn": function, **target_options}])

    events.put_events(Entries=[{"Source": "axon.test", "DetailType": "Test", "Detail": json.dumps({"api": "iris"})}])

    assert handlers.received == [expected]


def test_disabled_and_schedule_only_rules_receive_no_events(events: Any, lambda_client: Any, role_arn: str) -> None:
    function = create_function(lambda_client, role_arn, "record", "record")
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["axon.test"]}), State="DISABLED")
    events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")
    for rule in ("off", "tick"):
        events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": function}])

    events.put_events(Entries=[{"Source": "axon.test", "DetailType": "Test", "Detail": "{}"}])

    assert handlers.received == []


def test_sns_targets_publish_the_event(events: Any) -> None:
    sns = client("sns")
    sqs = client("sqs")
    topic = sns.create_topic(Name="rollouts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    events.put_rule(Name="notify", EventPattern=json.dumps({"source": ["axon.rollout"]}))
    events.put_targets(Rule="notify", Targets=[{"Id": "topic", "Arn": topic}])

    events.put_events(Entries=[{"Source": "axon.rollout", "DetailType": "Rollout Succeeded", "Detail": "{}"}])

    messages = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(messages[0]["Body"])["detail-type"] == "Rollout Succeeded"
