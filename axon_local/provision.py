"""Create axon's control plane in a (local or moto) AWS account from the same sources of truth as the CDK app.

Tests and ``axon local up`` both call :func:`provision`: the same bucket, table key schema, event pattern, ASL,
functions and schedule that ``cdk_app`` declares, so local runs exercise the real wiring.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from axon import names
from axon.functions import (
    ALL_FUNCTIONS,
    AUTOSCALER_FUNCTION,
    EXECUTION_END_FUNCTION,
    INTAKE_FUNCTION,
    RECONCILER_FUNCTION,
    render_definition,
    rollout_asl_text,
)
from axon.platforms.api_roles import Account, boundary_policy
from axon.registry import keys
from axon.rollout.events import execution_end_pattern, upload_event_pattern
from axon.settings import Settings

_ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Provisioned:
    settings: Settings
    function_arns: dict[str, str]  # logical name -> ARN
    state_machine_arn: str
    environment: dict[str, str]  # what every function (and local in-process code) sees


def _code_zip() -> bytes:
    """Lambda needs a zip; the patched invoke imports the handler from this checkout instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "axon local: handlers run in-process from the installed package")
    return buffer.getvalue()


def function_environment(settings: Settings) -> dict[str, str]:
    """The settings' variables (``Settings.to_env``, as in the CDK stack) plus local Powertools defaults."""
    return {
        **settings.to_env(),
        "POWERTOOLS_SERVICE_NAME": "axon",
        "POWERTOOLS_METRICS_NAMESPACE": names.METRIC_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
    }


def create_registry_table(dynamodb: Any, table: str) -> None:
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": keys.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": keys.SORT_KEY, "AttributeType": "S"},
            {"AttributeName": keys.ENTITY_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": keys.ENTITY_INDEX,
                "KeySchema": [
                    {"AttributeName": keys.ENTITY_ATTRIBUTE, "KeyType": "HASH"},
                    {"AttributeName": keys.PARTITION_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def provision(client: Callable[[str], Any], settings: Settings | None = None) -> Provisioned:
    """Create every control-plane resource; returns the settings the functions were configured with."""
    base = settings or Settings()
    iam = client("iam")
    account = client("sts").get_caller_identity()["Account"]
    region = client("s3").meta.region_name
    lambda_role = iam.create_role(RoleName="axon-lambda", AssumeRolePolicyDocument=json.dumps(_ASSUME_LAMBDA))
    sagemaker_role = iam.create_role(
        RoleName=names.SAGEMAKER_EXECUTION_ROLE,
        AssumeRolePolicyDocument=json.dumps(_ASSUME_LAMBDA).replace("lambda.amazonaws.com", "sagemaker.amazonaws.com"),
    )
    boundary = iam.create_policy(
        PolicyName=names.API_ROLE_BOUNDARY,
        Path=names.API_ROLE_BOUNDARY_PATH,
        PolicyDocument=json.dumps(
            boundary_policy(Account("aws", account, region, base.models_bucket, base.ecr_repository))
        ),
    )
    state_machine_arn = f"arn:aws:states:{region}:{account}:stateMachine:{names.STATE_MACHINE}"
    settings = Settings(
        **{
            **base.__dict__,
            "state_machine_arn": state_machine_arn,
            "sagemaker_role_arn": sagemaker_role["Role"]["Arn"],
            "api_role_boundary_arn": boundary["Policy"]["Arn"],
        }
    )
    environment = function_environment(settings)

    s3 = client("s3")
    s3.create_bucket(Bucket=settings.models_bucket)
    s3.put_bucket_versioning(Bucket=settings.models_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=settings.models_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    create_registry_table(client("dynamodb"), settings.registry_table)
    client("ecr").create_repository(repositoryName=settings.ecr_repository, imageTagMutability="IMMUTABLE")
    client("codebuild").create_project(
        name=settings.codebuild_project,
        source={"type": "NO_SOURCE", "buildspec": "model_images/buildspec.yml", "location": "model_images"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
            "computeType": "BUILD_GENERAL1_MEDIUM",
            "privilegedMode": True,
            # The buildspec pushes the image to this repository (the CDK project sets the same variable).
            "environmentVariables": [
                {"name": "AXON_ECR_REPOSITORY", "value": settings.ecr_repository, "type": "PLAINTEXT"}
            ],
        },
        serviceRole=lambda_role["Role"]["Arn"],
    )

    lam = client("lambda")
    arns = {}
    for function in ALL_FUNCTIONS:
        created = lam.create_function(
            FunctionName=function.function_name,
            Runtime="python3.12",
            Role=lambda_role["Role"]["Arn"],
            Handler=function.handler,
            Code={"ZipFile": _code_zip()},
            MemorySize=function.memory_mb,
            Timeout=function.timeout_seconds,
            Environment={"Variables": environment},
        )
        arns[function.logical_name] = created["FunctionArn"]

    substitutions = {f.placeholder: arns[f.logical_name] for f in ALL_FUNCTIONS}
    definition = json.dumps(render_definition(rollout_asl_text(), substitutions))
    created_sm = client("stepfunctions").create_state_machine(
        name=names.STATE_MACHINE, definition=definition, roleArn=lambda_role["Role"]["Arn"], type="STANDARD"
    )
    assert created_sm["stateMachineArn"] == state_machine_arn

    events = client("events")
    events.put_rule(Name=names.UPLOAD_RULE, EventPattern=json.dumps(upload_event_pattern(settings.models_bucket)))
    events.put_targets(Rule=names.UPLOAD_RULE, Targets=[{"Id": "intake", "Arn": arns[INTAKE_FUNCTION.logical_name]}])
    events.put_rule(Name=names.AUTOSCALER_SCHEDULE, ScheduleExpression=names.AUTOSCALER_SCHEDULE_EXPRESSION)
    events.put_targets(
        Rule=names.AUTOSCALER_SCHEDULE, Targets=[{"Id": "autoscaler", "Arn": arns[AUTOSCALER_FUNCTION.logical_name]}]
    )
    events.put_rule(Name=names.EXECUTION_END_RULE, EventPattern=json.dumps(execution_end_pattern(state_machine_arn)))
    events.put_targets(
        Rule=names.EXECUTION_END_RULE,
        Targets=[{"Id": "recovery", "Arn": arns[EXECUTION_END_FUNCTION.logical_name]}],
    )
    events.put_rule(Name=names.RECONCILER_SCHEDULE, ScheduleExpression=names.RECONCILER_SCHEDULE_EXPRESSION)
    events.put_targets(
        Rule=names.RECONCILER_SCHEDULE, Targets=[{"Id": "reconciler", "Arn": arns[RECONCILER_FUNCTION.logical_name]}]
    )
    return Provisioned(settings, arns, state_machine_arn, environment)
