"""The synthesized ``AxonCore`` template: every resource and every wire of the design, secure by default."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import assertions
from cfnlint.api import lint_file

from axon import names, settings
from axon.functions import (
    ALL_FUNCTIONS,
    AUTOSCALER_FUNCTION,
    EXECUTION_END_FUNCTION,
    INTAKE_FUNCTION,
    RECONCILER_FUNCTION,
    WORKFLOW_FUNCTIONS,
    placeholders_in,
    render_definition,
    rollout_asl_text,
)
from axon.registry import keys
from axon.rollout.events import EXECUTION_STATUS_DETAIL_TYPE, notification_event_pattern, upload_event_pattern
from cdk_app.aspects.least_privilege import violations
from cdk_app.stacks.core_stack import CLI_OUTPUTS
from tests.cdk.conftest import Synth

# Every CDK test shares the session's one synth: keep them on one xdist worker (``--dist loadgroup``).
pytestmark = pytest.mark.xdist_group("cdk")

# Settings that name a deployed resource; the rest are written with their defaults (no instance-type context).
DEPLOYED_SETTINGS = {
    settings.ENV_REGISTRY_TABLE,
    settings.ENV_MODELS_BUCKET,
    settings.ENV_STATE_MACHINE_ARN,
    settings.ENV_ECR_REPOSITORY,
    settings.ENV_CODEBUILD_PROJECT,
    settings.ENV_API_ROLE_BOUNDARY_ARN,  # every API runs as its own role (no shared one)
    settings.ENV_EVENT_BUS,
    settings.ENV_ALARM_TOPIC_ARN,
}
# The Lambdas that move traffic or clean up after a rollout: they share the platform grants.
ROLLOUT_MODULES = {
    "deploy_version",
    "check_deployment",
    "verify_version",
    "finalize_rollout",
    "complete_rollout",
    "handle_failure",
    "on_execution_end",
    "reconcile",
}
# cfn-lint warnings the CDK output carries by design (see docs/deploy.md, "Validation").
ACCEPTED_CFN_LINT_WARNINGS = {"W3005"}


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    (item,) = resources.items()
    return item


def statements_of_role(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def function_statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    role = synth.resources[synth.function_id(function_name)]["Properties"]["Role"]["Fn::GetAtt"][0]
    return statements_of_role(synth, role)


def actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def flat(value: Any) -> str:
    """A template value as one string, references shown as ``<Logical.Attr>`` (as cdk-nag shows them)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(flat(v) for v in value["Fn::Join"][1])
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return f"<{value['Ref']}>"


def test_synth_has_no_error_annotations_and_every_acknowledgement_has_a_specific_reason(synth: Synth) -> None:
    assertions.Annotations.from_stack(synth.stack).has_no_error("*", assertions.Match.any_value())
    acknowledged = synth.acknowledgements
    assert "AwsSolutions-CB3" in acknowledged
    for rule, reason in acknowledged.items():
        assert re.fullmatch(r"AwsSolutions-[A-Z]+\d+(\[.+\])?", rule), rule
        assert len(reason) >= 40, f"{rule}: reason too vague: {reason!r}"


def test_cfn_lint_reports_no_errors(synth: Synth) -> None:
    matches = lint_file(synth.template_path)
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []
    assert {m.rule.id for m in matches if m.rule.id.startswith("W")} <= ACCEPTED_CFN_LINT_WARNINGS


def test_models_bucket_is_versioned_encrypted_private_tls_only_and_sends_events(synth: Synth) -> None:
    buckets = synth.of_type("AWS::S3::Bucket")
    models_id, models = only({k: v for k, v in buckets.items() if "VersioningConfiguration" in v["Properties"]})
    props = models["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][1] == "Arn"
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert any("NoncurrentVersionExpiration" in r for r in props["LifecycleConfiguration"]["Rules"])
    logs_bucket = props["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert logs_bucket in buckets and logs_bucket != models_id
    policies = synth.of_type("AWS::S3::BucketPolicy").values()
    for bucket_id in (models_id, logs_bucket):
        (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    # No custom-resource Lambda sets the notifications: only axon's own functions exist.
    assert len(synth.of_type("AWS::Lambda::Function")) == len(ALL_FUNCTIONS)


def test_registry_table_matches_the_key_schema_with_recovery_and_encryption(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": names.REGISTRY_TABLE,
            "KeySchema": [
                {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
            ],
            "TimeToLiveSpecification": {"AttributeName": keys.TTL_ATTRIBUTE, "Enabled": True},
            "GlobalSecondaryIndexes": [
                assertions.Match.object_like(
                    {
                        "IndexName": keys.ENTITY_INDEX,
                        "KeySchema": [
                            {"AttributeName": keys.ENTITY_ATTRIBUTE, "KeyType": "HASH"},
                            {"AttributeName": keys.PARTITION_KEY, "KeyType": "RANGE"},
                        ],
                    }
                )
            ],
            "SSESpecification": assertions.Match.object_like({"SSEEnabled": True}),
            "Replicas": [
                assertions.Match.object_like(
                    {
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        "DeletionProtectionEnabled": True,
                    }
                )
            ],
        },
    )


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda spec: spec.name)
def test_every_function_is_built_from_its_spec(synth: Synth, spec: Any) -> None:
    props = synth.resources[synth.function_id(spec.function_name)]["Properties"]
    assert props["Handler"] == spec.handler
    assert props["Runtime"] >= "python3.12" and props["Runtime"].startswith("python3.1")
    assert props["Architectures"] == ["arm64"]
    assert (props["MemorySize"], props["Timeout"]) == (spec.memory_mb, spec.timeout_seconds)
    assert props["TracingConfig"] == {"Mode": "Active"}
    python = props["Runtime"].replace(".", "")
    powertools = (
        rf"arn:<AWS::Partition>:lambda:<AWS::Region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-{python}-arm64:\d+"
    )
    assert [flat(layer) for layer in props["Layers"] if re.fullmatch(powertools, flat(layer))]
    env = props["Environment"]["Variables"]
    # Every setting (Settings.to_env, the map local provisioning uses too) plus the function's Powertools names.
    defaults = settings.Settings().to_env()
    assert env.keys() == defaults.keys() | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    assert {k: env[k] for k in defaults.keys() - DEPLOYED_SETTINGS} == {
        k: v for k, v in defaults.items() if k not in DEPLOYED_SETTINGS
    }
    assert flat(env[settings.ENV_STATE_MACHINE_ARN]).endswith(f":stateMachine:{names.STATE_MACHINE}")


def test_state_machine_definition_is_the_asl_file_after_substitution(synth: Synth) -> None:
    _, machine = only(synth.of_type("AWS::StepFunctions::StateMachine"))
    props = machine["Properties"]
    asl = rollout_asl_text()
    assert props["StateMachineName"] == names.STATE_MACHINE
    assert props["DefinitionString"] == asl  # the file goes in unchanged
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == placeholders_in(asl) == {f.placeholder for f in WORKFLOW_FUNCTIONS}
    fake_arns = {f.placeholder: f"arn:fn:{synth.function_id(f.function_name)}" for f in WORKFLOW_FUNCTIONS}
    deployed = {name: "arn:fn:" + ref["Fn::GetAtt"][0] for name, ref in substitutions.items()}
    assert render_definition(props["DefinitionString"], deployed) == render_definition(asl, fake_arns)
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    invokes = [s for s in statements_of_role(synth, role_id) if s["Action"] == "lambda:InvokeFunction"]
    assert sorted(flat(r) for s in invokes for r in s["Resource"]) == sorted(
        f"<{synth.function_id(f.function_name)}.Arn>" for f in WORKFLOW_FUNCTIONS
    )


def test_upload_rule_uses_the_shared_pattern_and_targets_the_intake(synth: Synth) -> None:
    rules = synth.of_type("AWS::Events::Rule")
    _, rule = only({k: v for k, v in rules.items() if v["Properties"].get("Name") == names.UPLOAD_RULE})
    props = rule["Properties"]
    bucket_ref = props["EventPattern"]["detail"]["bucket"]["name"][0]
    assert synth.resources[bucket_ref["Ref"]]["Type"] == "AWS::S3::Bucket"
    assert props["EventPattern"] == upload_event_pattern(bucket_ref)
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synth.function_id(INTAKE_FUNCTION.function_name), "Arn"]}
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_autoscaler_runs_every_minute_one_tick_at_a_time(synth: Synth) -> None:
    autoscaler_id = synth.function_id(AUTOSCALER_FUNCTION.function_name)
    schedules = {s["Properties"]["Name"]: s for s in synth.of_type("AWS::Scheduler::Schedule").values()}
    props = schedules[names.AUTOSCALER_SCHEDULE]["Properties"]
    assert props["Name"] == names.AUTOSCALER_SCHEDULE
    assert props["ScheduleExpression"] == names.AUTOSCALER_SCHEDULE_EXPRESSION == "rate(1 minute)"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [autoscaler_id, "Arn"]}
    assert props["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 60
    assert "DeadLetterConfig" in props["Target"]
    assert synth.resources[autoscaler_id]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_unfinished_executions_and_the_reconciler_are_wired(synth: Synth) -> None:
    """A timed-out or aborted execution reaches on_execution_end; the reconciler runs every few minutes, alone."""
    recovery_id = synth.function_id(EXECUTION_END_FUNCTION.function_name)
    (rule,) = [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("Name") == names.EXECUTION_END_RULE
    ]
    pattern = rule["EventPattern"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert pattern["detail-type"] == [EXECUTION_STATUS_DETAIL_TYPE] and pattern["source"] == ["aws.states"]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [recovery_id, "Arn"]}
    assert "DeadLetterConfig" in rule["Targets"][0]
    reconciler_id = synth.function_id(RECONCILER_FUNCTION.function_name)
    schedules = {s["Properties"]["Name"]: s["Properties"] for s in synth.of_type("AWS::Scheduler::Schedule").values()}
    props = schedules[names.RECONCILER_SCHEDULE]
    assert props["ScheduleExpression"] == names.RECONCILER_SCHEDULE_EXPRESSION
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [reconciler_id, "Arn"]}
    assert synth.resources[reconciler_id]["Properties"]["ReservedConcurrentExecutions"] == 1
    granted = actions(function_statements(synth, RECONCILER_FUNCTION.function_name))
    assert {"states:DescribeExecution", "s3:ListBucketVersions", "states:StartExecution"} <= granted


def test_notifications_fan_rollout_events_out_to_an_encrypted_topic(synth: Synth) -> None:
    topic_id, topic = only(synth.of_type("AWS::SNS::Topic"))
    assert "KmsMasterKeyId" in topic["Properties"]
    (rule,) = [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"] == notification_event_pattern()
    ]
    assert rule["Targets"][0]["Arn"] == {"Ref": topic_id}


def test_serving_repository_build_project_and_execution_role(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ECR::Repository",
        {"RepositoryName": names.ECR_REPOSITORY, "ImageScanningConfiguration": {"ScanOnPush": True}},
    )
    synth.template.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Name": names.CODEBUILD_PROJECT,
            "Environment": assertions.Match.object_like({"PrivilegedMode": True}),
            "Source": {"Type": "S3", "Location": assertions.Match.any_value(), "BuildSpec": "buildspec.yml"},
            "EncryptionKey": assertions.Match.any_value(),
        },
    )
    assert not [
        r
        for r in synth.of_type("AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == (names.SAGEMAKER_EXECUTION_ROLE)
    ], "no role shared by every API's replicas"


def test_the_api_role_boundary_caps_every_per_api_role(synth: Synth) -> None:
    """What any API's own role may ever do: axon's bundles, logs, per-API metric namespaces and image only, and
    for async APIs their inputs, results and topics (issue 15)."""
    (boundary,) = [
        p["Properties"]
        for p in synth.of_type("AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("ManagedPolicyName") == names.API_ROLE_BOUNDARY
    ]
    assert boundary["Path"] == names.API_ROLE_BOUNDARY_PATH
    statements = boundary["PolicyDocument"]["Statement"]
    assert violations(boundary["PolicyDocument"]) == []
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": f"{names.API_METRIC_NAMESPACE_PREFIX}*"}}

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    reads = [flat(r) for s in statements if "s3:GetObject" in listed(s["Action"]) for r in listed(s["Resource"])]
    prefixes = (names.BUNDLE_PREFIX, names.VERSIONS_PREFIX, names.ASYNC_INPUTS_PREFIX)
    assert len(reads) == 3 and all(r.endswith(tuple(f"/{p}*/*" for p in prefixes)) for r in reads)
    writes = [flat(r) for s in statements if "s3:PutObject" in listed(s["Action"]) for r in listed(s["Resource"])]
    assert len(writes) == 1 and writes[0].endswith(f"/{names.ASYNC_RESULTS_PREFIX}*/*")
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    published = {flat(r).rsplit(":", 1)[-1] for r in listed(publish["Resource"])}
    assert published == {names.async_topic_name("*", o) for o in names.ASYNC_TOPIC_OUTCOMES}


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda spec: spec.name)
def test_only_rollout_lambdas_manage_api_roles_and_only_with_the_boundary(synth: Synth, spec: Any) -> None:
    statements = function_statements(synth, spec.function_name)
    iam_statements = [s for s in statements if any(a.startswith("iam:") for a in _actions(s))]
    creating = [s for s in iam_statements if "iam:CreateRole" in _actions(s)]
    if spec.name not in ROLLOUT_MODULES:
        assert iam_statements == []
        return
    (create,) = creating
    assert set(_actions(create)) == {"iam:CreateRole", "iam:PutRolePolicy"}
    assert "iam:PermissionsBoundary" in create["Condition"]["StringEquals"]
    granted = {a for s in iam_statements for a in _actions(s)}
    assert not granted & {"iam:UpdateAssumeRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy"}
    resources = {
        flat(r) for s in iam_statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert all(":role/axon/api/axon-api-*" in r or r.endswith(f":role/{names.ECS_EXECUTION_ROLE}") for r in resources)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_no_iam_statement_is_broader_than_the_house_rules(synth: Synth) -> None:
    for logical_id, policy in synth.of_type("AWS::IAM::Policy").items():
        assert violations(policy["Properties"]["PolicyDocument"]) == [], logical_id


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda spec: spec.name)
def test_function_permissions_are_scoped_to_axon_resources(synth: Synth, spec: Any) -> None:
    statements = function_statements(synth, spec.function_name)
    granted = actions(statements)
    resources = [
        flat(r) for s in statements for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    scoped = (":endpoint/axon-*", ":model/axon-*", ":endpoint-config/axon-*", ":alarm:axon-*")
    assert all(r.endswith(scoped) for r in resources if ":sagemaker:" in r or ":alarm:" in r)
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    if spec.name in ROLLOUT_MODULES:
        # One statement per service the roles may be passed to (ECS's: tests/cdk/test_ecs_permissions.py).
        by_service = {s["Condition"]["StringEquals"]["iam:PassedToService"]: s for s in pass_role}
        assert len(pass_role) == len(by_service) == 2
        assert by_service.keys() == {"sagemaker.amazonaws.com", "ecs-tasks.amazonaws.com"}
        assert flat(by_service["sagemaker.amazonaws.com"]["Resource"]).endswith(":role/axon/api/axon-api-*")
    else:
        assert pass_role == []
    assert ("states:StartExecution" in granted) == (spec.name in ROLLOUT_MODULES | {"on_upload"})
    assert ("s3:PutObject" in granted) == (spec.name == "validate_bundle")  # the copy to versions/
    assert ("cloudwatch:GetMetricData" in granted) == (spec is AUTOSCALER_FUNCTION)
    assert not any(a.startswith("sagemaker:Create") for a in granted) or spec.name in ROLLOUT_MODULES


def test_platform_alarms_notify_and_cannot_be_touched_by_the_lambdas(synth: Synth) -> None:
    alarms = {v["Properties"]["AlarmName"]: v["Properties"] for v in synth.of_type("AWS::CloudWatch::Alarm").values()}
    assert all(name.startswith(names.PLATFORM_ALARM_PREFIX) for name in alarms)
    assert all(props["AlarmActions"] for props in alarms.values())
    silent = alarms[f"{names.PLATFORM_ALARM_PREFIX}AutoscalerSilent"]
    assert (silent["MetricName"], silent["Period"], silent["ComparisonOperator"]) == (
        "Invocations",
        300,
        "LessThanThreshold",
    )
    assert silent["TreatMissingData"] == "breaching"
    broken = alarms[f"{names.PLATFORM_ALARM_PREFIX}RolloutExecutionsBroken"]
    expressions = [m["Expression"] for m in broken["Metrics"] if "Expression" in m]
    watched = sorted(m["MetricStat"]["Metric"]["MetricName"] for m in broken["Metrics"] if "MetricStat" in m)
    assert (expressions, watched) == (["timedOut + aborted"], ["ExecutionsAborted", "ExecutionsTimedOut"])
    at_max = alarms[f"{names.PLATFORM_ALARM_PREFIX}ApiAtMaxReplicas"]
    assert (at_max["Namespace"], at_max["MetricName"], at_max["EvaluationPeriods"]) == (
        names.AUTOSCALER_METRIC_NAMESPACE,
        "AtMaxReplicas",
        3,
    )
    assert "Dimensions" not in at_max  # the dimensionless total the autoscaler's EMF publishes
    for spec in ALL_FUNCTIONS:
        assert f"{names.PLATFORM_ALARM_PREFIX}{spec.logical_name}Errors" in alarms
    synth.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_outputs_give_the_cli_what_it_needs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert set(CLI_OUTPUTS.values()) <= outputs.keys()
    env = synth.resources[synth.function_id(INTAKE_FUNCTION.function_name)]["Properties"]["Environment"]["Variables"]
    for variable, output in CLI_OUTPUTS.items():
        assert outputs[output]["Value"] == env[variable]
