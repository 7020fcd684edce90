"""Patch 3: fire_schedules delivers EventBridge schedule rules and EventBridge Scheduler schedules on demand."""

from __future__ import annotations

import json
from typing import Any

from axon_local.patches import fire_schedules
from tests.functional.harness import handlers
from tests.functional.harness.conftest import REGION, client, create_function


def test_a_schedule_rule_delivers_aws_scheduled_event_to_its_lambda(lambda_client: Any, role_arn: str) -> None:
    function = create_function(lambda_client, role_arn, "autoscaler", "record")
    events = client("events")
    rule_arn = events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule="tick", Targets=[{"Id": "fn", "Arn": function}])
    events.put_rule(Name="paused", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    events.put_targets(Rule="paused", Targets=[{"Id": "fn", "Arn": function}])

    assert fire_schedules(region=REGION) == 1
    assert fire_schedules(region=REGION) == 1

    assert len(handlers.received) == 2
    first, second = handlers.received
    assert first["detail-type"] == "Scheduled Event" and first["source"] == "aws.events"
    assert first["resources"] == [rule_arn] and first["detail"] == {}
    assert first["id"] != second["id"]


def test_an_eventbridge_scheduler_schedule_delivers_its_input_with_context_attributes(
    lambda_client: Any, role_arn: str
) -> None:
    function = create_function(lambda_client, role_arn, "autoscaler", "record")
    scheduler = client("scheduler")
    target_input = json.dumps({"at": "<aws.scheduler.scheduled-time>", "schedule": "<aws.scheduler.schedule-arn>"})
    schedule_arn = scheduler.create_schedule(
        Name="axon-autoscaler",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": role_arn, "Input": target_input},
    )["ScheduleArn"]
    scheduler.create_schedule(
        Name="no-input",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": role_arn},
    )
    scheduler.create_schedule(
        Name="off",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": role_arn},
        State="DISABLED",
    )

    assert fire_schedules(region=REGION) == 2

    with_input, without_input = handlers.received
    assert with_input["schedule"] == schedule_arn
    assert with_input["at"].endswith("Z") and "<aws.scheduler" not in with_input["at"]
    assert without_input == {}
