"""Patches 2 and 3: EventBridge delivers to Lambda, Step Functions and SNS targets; schedules fire on demand."""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from jsonpath_ng.ext.parser import parse as parse_jsonpath

from axon_local.patches import _registry
from axon_local.patches.options import DEFAULT_ACCOUNT, DEFAULT_REGION

_log = logging.getLogger(__name__)


def apply() -> None:
    from moto.events.models import Rule

    _registry.patch(Rule, "send_to_targets", _rule_send_to_targets)


_HANDLED_TARGETS = ("lambda", "states", "sns")


def _rule_send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """Replaces ``Rule.send_to_targets``, which raises ``NotImplementedError`` for Lambda, Step Functions, SNS.

    Gap: moto delivers only to SQS, CloudWatch Logs, archives, other buses and API destinations; it also sends
    events to DISABLED rules, to schedule-only rules (their empty pattern matches anything), and gives every S3
    event the same placeholder id. Fix: skip disabled and schedule-only rules, give an S3 event a fresh id (once,
    so every rule sees the same id, as on AWS), deliver Lambda (asynchronous invoke), Step Functions
    (StartExecution with a unique name) and SNS (Publish) targets here with AWS's event shape (ISO-8601 ``time``)
    after ``Input``/``InputPath``/``InputTransformer``, and hand the other targets to moto's own code.
    """
    if self.state != "ENABLED" or (self.scheduled_expression and not self.event_pattern.get_pattern()):
        return
    if not self.event_pattern.matches_event(original_event):
        return
    from moto.events.utils import _BASE_EVENT_MESSAGE

    if original_event.get("id") == _BASE_EVENT_MESSAGE["id"]:  # the id moto gives every S3 event
        original_event["id"] = str(uuid.uuid4())
    _send_to_rule_targets(self, original_event, transform_input)


def _send_to_rule_targets(rule: Any, event: dict[str, Any], transform_input: bool) -> None:
    handled = [t for t in rule.targets if _arn_service(t["Arn"]) in _HANDLED_TARGETS]
    aws_event = _aws_event(event)
    for target in handled:
        _deliver(target["Arn"], _target_input(target, aws_event, event))
    others = [t for t in rule.targets if _arn_service(t["Arn"]) not in _HANDLED_TARGETS]
    if others:
        moto_view = copy.copy(rule)
        moto_view.targets = others
        from moto.events.models import Rule

        _registry.original(Rule, "send_to_targets")(moto_view, event, transform_input)


def _arn_service(arn: str) -> str:
    return arn.split(":", 5)[2]


def _aws_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """moto keeps ``time`` as epoch seconds plus an ``ingestion-time``; targets on AWS get ISO-8601 and no more."""
    shaped = {key: value for key, value in event.items() if key != "ingestion-time"}
    moment = event.get("time")
    if isinstance(moment, int | float):
        shaped["time"] = _iso(datetime.fromtimestamp(moment, UTC))
    elif not moment:
        shaped["time"] = _iso(datetime.now(UTC))
    return shaped


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _target_input(target: Mapping[str, Any], aws_event: dict[str, Any], moto_event: Mapping[str, Any]) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = parse_jsonpath(target["InputPath"]).find(aws_event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer["InputTemplate"],
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, {**aws_event, "ingestion-time": moto_event.get("ingestion-time", time.time())}),
        )
    return aws_event


def _deliver(arn: str, payload: Any) -> None:
    """Deliver to a Lambda, Step Functions or SNS target; failures are logged, as AWS only counts them."""
    _, _, service, region, account, _ = arn.split(":", 5)
    try:
        if service == "lambda":
            _invoke_async(arn, account, region, payload)
        elif service == "states":
            from moto.stepfunctions.responses import get_backend as sfn_backend

            sfn_backend(account, region).start_execution(
                state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=json.dumps(payload)
            )
        else:
            from moto.sns.models import sns_backends

            sns_backends[account][region].publish(message=json.dumps(payload), arn=arn)
    except Exception:
        _log.warning("delivery to target %s failed", arn, exc_info=True)


# Lambda retries a failed asynchronous invocation this many times unless the function's EventInvokeConfig says less.
DEFAULT_ASYNC_RETRIES = 2


def _invoke_async(arn: str, account: str, region: str, payload: Any) -> None:
    """An asynchronous invoke (``InvocationType=Event``) with Lambda's retries of a function error.

    Gap: moto's Event invoke runs the handler once; a function error is silently dropped. AWS retries a function
    error (an exception, a runtime crash) up to ``MaximumRetryAttempts`` more times (default 2, per the function's
    EventInvokeConfig) with the same event, then discards it. Here the retries follow at once instead of after
    about one and then two minutes.
    """
    from moto.awslambda.utils import get_backend as lambda_backend

    backend = lambda_backend(account, region)
    configs = backend.get_function(arn).event_invoke_config
    retries = configs[0].config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES) if configs else DEFAULT_ASYNC_RETRIES
    body = json.dumps(payload)
    for attempt in range(1 + int(retries)):
        response_headers: dict[str, str] = {}
        backend.invoke(
            function_name=arn,
            qualifier=None,
            body=body,
            headers={"X-Amz-Invocation-Type": "Event"},
            response_headers=response_headers,
        )
        if "x-amz-function-error" not in response_headers:
            return
        _log.warning("asynchronous invocation %d of %s failed", attempt + 1, arn)
    _log.warning("event for %s dropped after %d retries", arn, retries)


# --- 3. Schedules on demand ---------------------------------------------------------------------------------------


def fire_schedules(*, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> int:
    """Fire every enabled schedule once, now; returns how many rules and schedules fired.

    EventBridge rules with a ``ScheduleExpression`` get AWS's scheduled event (``detail-type`` "Scheduled Event",
    ``source`` aws.events, ``resources`` [rule ARN], ``detail`` {}). EventBridge Scheduler schedules (what the CDK
    app uses for the autoscaler) deliver their target's ``Input`` with the ``<aws.scheduler.*>`` context
    attributes filled in, or ``{}`` when the schedule has no input. moto stores both and never fires them.
    """
    from moto.events.models import events_backends
    from moto.scheduler.models import scheduler_backends

    fired = 0
    now = datetime.now(UTC)
    for bus in events_backends[account][region].event_buses.values():
        for rule in list(bus.rules.values()):
            if rule.scheduled_expression and rule.state == "ENABLED":
                event = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": account,
                    "time": now.timestamp(),
                    "region": region,
                    "resources": [rule.arn],
                    "detail": {},
                    "ingestion-time": now.timestamp(),
                }
                _send_to_rule_targets(rule, event, transform_input=True)
                fired += 1
    for group in scheduler_backends[account][region].schedule_groups.values():
        for schedule in list(group.schedules.values()):
            if schedule.state == "ENABLED":
                _fire_scheduler_target(schedule.arn, schedule.target, now)
                fired += 1
    return fired


def _fire_scheduler_target(schedule_arn: str, target: Mapping[str, Any], now: datetime) -> None:
    text = target.get("Input") or "{}"
    for name, value in {
        "schedule-arn": schedule_arn,
        "scheduled-time": _iso(now),
        "execution-id": uuid.uuid4().hex[:16],
        "attempt-number": "1",
    }.items():
        text = text.replace(f"<aws.scheduler.{name}>", value)
    if _arn_service(target["Arn"]) in ("lambda", "states"):
        _deliver(target["Arn"], json.loads(text))
    else:
        _log.warning(
            "EventBridge Scheduler target %s is not emulated; schedule %s skipped", target["Arn"], schedule_arn
        )
