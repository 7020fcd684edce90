"""AWS conventions: boto3's own profile and region resolution, an explicit switch to the local stack, --version,
escaped help texts and documented exit codes (docs/cli.md)."""

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from axon import names
from axon.cli.app import app
from axon.cli.context import CliContext, session_clients
from axon.cli.errors import DiscoveryError
from axon.cli.options import Target
from tests.functional.cli.conftest import LOCAL_URL, client, one_error_line


class NoCoreStack:
    """CloudFormation without the AxonCore stack: what AWS discovery meets in an account with none."""

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        error = {"Error": {"Code": "ValidationError", "Message": f"Stack with id {StackName} does not exist"}}
        raise ClientError(error, "DescribeStacks")  # type: ignore[arg-type]


def _context() -> CliContext:
    stack = NoCoreStack()
    return CliContext(lambda service: stack if service == "cloudformation" else client(service), env={})


def test_aws_endpoint_url_alone_never_switches_the_cli_to_the_local_stack(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", LOCAL_URL)
    line = one_error_line(CliRunner().invoke(app, ["get"], obj=_context()))
    assert "no AxonCore stack in us-east-1" in line  # discovery asked CloudFormation, as on AWS


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--endpoint-url", LOCAL_URL, "get", "-o", "json"], {}),
        (["get", "-o", "json"], {"AXON_ENDPOINT_URL": LOCAL_URL}),
    ],
)
def test_the_local_stack_is_chosen_by_endpoint_url_or_axon_endpoint_url(
    aws: None, args: list[str], env: dict[str, str]
) -> None:
    context = _context()
    result = CliRunner().invoke(app, args, obj=context, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[]"
    assert context.deployment.local_url == LOCAL_URL


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    config = tmp_path / "config"
    config.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def test_the_profiles_region_is_used_and_region_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, "[profile prod]\nregion = eu-west-2\n")
    make, region = session_clients(Target(profile="prod"))
    assert region == "eu-west-2" and make("s3").meta.region_name == "eu-west-2"
    assert session_clients(Target(profile="prod", region="ap-south-1"))[1] == "ap-south-1"


def test_aws_region_is_honoured_before_the_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, "[profile prod]\nregion = eu-west-2\n")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert session_clients(Target(profile="prod"))[1] == "eu-central-1"
    assert session_clients(Target(profile="prod", region="ap-south-1"))[1] == "ap-south-1"


def test_no_region_on_aws_is_an_error_that_says_how_to_set_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, "[default]\n")
    with pytest.raises(DiscoveryError, match="no AWS region: pass --region"):
        session_clients(Target())
    make, region = session_clients(Target(endpoint_url=LOCAL_URL))  # the local stack answers in any region
    assert region == names.DEFAULT_REGION and make("s3").meta.endpoint_url == LOCAL_URL


def test_an_unknown_profile_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, monkeypatch, "[default]\nregion = us-east-1\n")
    line = one_error_line(CliRunner().invoke(app, ["--profile", "nope", "get"]))
    assert "The config profile (nope) could not be found" in line


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == "axon 0.1.0"


@pytest.mark.parametrize("args", [["deploy", "--help"], ["history", "--help"], ["delete", "--help"]])
def test_help_texts_keep_their_brackets(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "API name, [a-z0-9-]{1,40}" in result.stdout and "\\[" not in result.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version"], 0),
        (["get", "--no-such-option"], 2),  # usage errors: click's status 2
        (["no-such-command"], 2),
        (["get", "Not_Valid"], 1),  # every refusal or failure: one error line, status 1
    ],
)
def test_exit_codes(aws: None, args: list[str], code: int) -> None:
    assert CliRunner().invoke(app, args, obj=_context()).exit_code == code


def test_info_names_the_target_account_region_and_resources(aws: None) -> None:
    import json

    result = CliRunner().invoke(app, ["--endpoint-url", LOCAL_URL, "info", "-o", "json"], obj=_context())
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert (view["target"], view["endpoint_url"], view["region"]) == ("local", LOCAL_URL, "us-east-1")
    assert (view["account"], view["models_bucket"], view["registry_table"]) == (
        "123456789012",
        "axon-models",
        "axon-registry",
    )
    assert view["state_machine_arn"].endswith(":stateMachine:axon-rollout")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "-o", "xml"], "'xml' is not one of"),
        (["get", "--watch", "--interval", "0.1"], "greater than or equal to 0.5"),
        (["get", "--interval", "soon"], "Input should be a valid number"),
    ],
)
def test_invalid_option_values_are_usage_errors(aws: None, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, obj=_context())
    assert result.exit_code == 2 and message in result.output


def test_valid_option_values_reach_the_command(aws: None) -> None:
    result = CliRunner().invoke(
        app, ["--endpoint-url", LOCAL_URL, "get", "-o", "json", "--interval", "3"], obj=_context()
    )
    assert result.exit_code == 0 and result.stdout.strip() == "[]"
