"""``axon rollback`` copies the right object version; ``axon delete`` takes the API down and (maybe) its bundles."""

import json

import pytest

from axon import names
from axon.platforms.api_roles import POLICY_NAME
from axon.registry import DynamoDBRegistry, VersionStatus, keys
from tests.functional.cli.conftest import BUCKET, Cli, client, one_error_line
from tests.functional.cli.rollouts import failed, intake_of, move, upload, went_live

KEY = "apis/iris/bundle.tar.gz"


def _two_live_versions(registry: DynamoDBRegistry) -> None:
    went_live(registry, "iris", upload(registry, "iris", b"first model"))
    went_live(registry, "iris", upload(registry, "iris", b"second model"))


def _latest_body() -> bytes:
    body: bytes = client("s3").get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    return body


def test_rollback_copies_the_previous_live_version_and_follows_it(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    cli.script.steps = [intake_of(registry, "iris", KEY), move(registry, "iris", 3, VersionStatus.LIVE)]
    result = cli("rollback", "iris")
    assert result.exit_code == 0, result.output
    assert "rolling iris back to v1" in result.stdout and "v3 of iris went live" in result.stdout
    assert _latest_body() == b"first model"
    v3 = registry.get_version("iris", 3)
    assert v3.version_id == client("s3").head_object(Bucket=BUCKET, Key=KEY)["VersionId"]


def test_rollback_json_output_is_the_new_version(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    cli.script.steps = [intake_of(registry, "iris", KEY), move(registry, "iris", 3, VersionStatus.LIVE)]
    result = cli("rollback", "iris", "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    head = client("s3").head_object(Bucket=BUCKET, Key=KEY)["VersionId"]
    assert (view["api"], view["version"], view["version_id"], view["status"]) == ("iris", "v3", head, "live")
    assert "rolling iris back to v1" in result.stderr


def test_rollback_to_a_named_version_without_waiting(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    went_live(registry, "iris", upload(registry, "iris", b"third model"))
    v1_id = registry.get_version("iris", 1).version_id
    result = cli("rollback", "iris", "--to", v1_id, "--no-wait")
    assert result.exit_code == 0, result.output
    assert _latest_body() == b"first model"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--to", "v3"], "v3 never went live (failed)"),
        (["--to", "v2"], "v2 is already live"),
        (["--to", "v7"], "iris has no version 'v7'"),
    ],
)
def test_rollback_refusals_are_one_line(cli: Cli, registry: DynamoDBRegistry, args: list[str], expected: str) -> None:
    _two_live_versions(registry)
    failed(registry, "iris", upload(registry, "iris", b"broken"), "bundle.not_gzip", "not gzip")
    assert expected in one_error_line(cli("rollback", "iris", *args))


def test_rollback_to_a_purged_bundle_is_refused(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    v1 = registry.get_version("iris", 1)
    client("s3").delete_object(Bucket=BUCKET, Key=KEY, VersionId=v1.version_id)
    assert "the bundle of v1" in one_error_line(cli("rollback", "iris"))


def _scaler_items(registry: DynamoDBRegistry) -> list[str]:
    dynamodb = client("dynamodb")
    items = dynamodb.query(
        TableName=registry.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.api_pk("iris")}},
    )["Items"]
    return [i["sk"]["S"] for i in items if i["sk"]["S"] == keys.SCALER or i["sk"]["S"].startswith(keys.DECISION_PREFIX)]


def _with_scaler_state(registry: DynamoDBRegistry) -> None:
    dynamodb = client("dynamodb")
    for sk in [keys.SCALER, *(keys.decision_sk(f"2024-05-01T12:{m:02d}:00Z") for m in range(30))]:
        dynamodb.put_item(TableName=registry.table, Item={"pk": {"S": keys.api_pk("iris")}, "sk": {"S": sk}})


def _sagemaker_leftovers() -> list[str]:
    sagemaker = client("sagemaker")
    return [m["ModelName"] for m in sagemaker.list_models()["Models"]] + [
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    ]


def test_delete_removes_platform_resources_and_scaler_state_and_keeps_bundles(
    cli: Cli, registry: DynamoDBRegistry
) -> None:
    _two_live_versions(registry)
    _with_scaler_state(registry)
    sagemaker = client("sagemaker")
    image = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-1"}
    sagemaker.create_model(
        ModelName="axon-iris-v2", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer=image
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="axon-iris-v2",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "axon-iris-v2",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    result = cli("delete", "iris", "--yes")
    assert result.exit_code == 0, result.output
    api = registry.get_api("iris")
    assert api is not None and api.deleted and api.live_seq is None
    assert registry.get_version("iris", 2).status == VersionStatus.SUPERSEDED
    assert _scaler_items(registry) == []
    assert _sagemaker_leftovers() == []
    assert len(client("s3").list_object_versions(Bucket=BUCKET, Prefix="apis/iris/")["Versions"]) == 2
    assert cli("get", "-o", "json").stdout.strip() == "[]"  # deleted APIs leave the listing


def test_delete_purge_removes_every_bundle_version_of_that_api_only(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    s3 = client("s3")
    s3.put_object(Bucket=BUCKET, Key="versions/iris/v1/bundle.tar.gz", Body=b"copy")
    s3.put_object(Bucket=BUCKET, Key="apis/iris-two/bundle.tar.gz", Body=b"other api")
    s3.delete_object(Bucket=BUCKET, Key=KEY)  # a delete marker is purged too
    result = cli("delete", "iris", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert "purged 4 object versions" in result.stdout
    left = s3.list_object_versions(Bucket=BUCKET)
    assert [v["Key"] for v in left["Versions"]] == ["apis/iris-two/bundle.tar.gz"]
    assert "DeleteMarkers" not in left


def test_delete_removes_the_apis_own_role_and_no_other(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    iam = client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    for name, path in ((names.api_role_name("iris"), names.API_ROLE_PATH), ("axon-api-iris-not-ours", "/")):
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=names.api_role_name("iris"),
        PolicyName=POLICY_NAME,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )
    assert cli("delete", "iris", "--yes").exit_code == 0
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["axon-api-iris-not-ours"]


def test_delete_json_output(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    result = cli("delete", "iris", "--purge", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "api": "iris",
        "deleted": True,
        "endpoint": "axon-iris",
        "purged_object_versions": 2,
    }


def test_delete_asks_first(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    result = cli("delete", "iris", input="n\n")
    assert result.exit_code == 1 and "delete iris" in result.output
    api = registry.get_api("iris")
    assert api is not None and not api.deleted


def test_delete_during_a_rollout_is_refused(cli: Cli, registry: DynamoDBRegistry) -> None:
    _two_live_versions(registry)
    seq = upload(registry, "iris", b"next")
    registry.set_status("iris", seq, VersionStatus.DEPLOYING, "deploying")
    assert "a rollout of iris is running" in one_error_line(cli("delete", "iris", "--yes"))


def test_delete_of_an_unknown_api_is_an_error(cli: Cli) -> None:
    assert "no API named 'ghost'" in one_error_line(cli("delete", "ghost", "--yes"))
