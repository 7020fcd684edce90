"""``axon deploy``: the bundle lands under the API's key as one object version, then the rollout is followed."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from axon.cli.transfer import VersioningDisabledError, upload
from axon.registry import DynamoDBRegistry, Reason, VersionStatus
from tests.functional.cli.conftest import BUCKET, Cli, client, one_error_line
from tests.functional.cli.rollouts import intake_of, move

KEY = "apis/iris/bundle.tar.gz"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "iris"
    (root / "model").mkdir(parents=True)
    (root / "predictor.py").write_text(
        "class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n\n"
        "    def predict(self, payload):\n        return payload\n"
    )
    (root / "model" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "predictor.cpython-311.pyc").write_bytes(b"stale")
    return root


def _versions() -> list[dict[str, str]]:
    versions: list[dict[str, str]] = client("s3").list_object_versions(Bucket=BUCKET, Prefix=KEY).get("Versions", [])
    return versions


def test_no_wait_uploads_one_object_version_and_reports_its_id(cli: Cli, bundle: Path) -> None:
    result = cli("deploy", str(bundle), "--api", "iris", "--no-wait")
    assert result.exit_code == 0, result.output
    [version] = _versions()
    assert f"VersionId {version['VersionId']}" in result.stdout
    body = client("s3").get_object(Bucket=BUCKET, Key=KEY, VersionId=version["VersionId"])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.getnames() == ["model", "model/weights.bin", "predictor.py"]


def test_follows_the_rollout_until_live(cli: Cli, bundle: Path, registry: DynamoDBRegistry) -> None:
    cli.script.steps = [
        intake_of(registry, "iris", KEY),  # the upload is not registered yet at the first look
        move(registry, "iris", 1, VersionStatus.VALIDATING),
        move(registry, "iris", 1, VersionStatus.SHIFTING, traffic_percent=10),
        move(registry, "iris", 1, VersionStatus.LIVE, traffic_percent=100),
    ]
    result = cli("deploy", str(bundle), "--api", "iris")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "following v1 of iris" in out
    assert out.index("uploaded") < out.index("now validating") < out.index("now shifting") < out.index("v1 is live")
    assert "traffic v1:10%" in out
    assert out.rstrip().endswith("v1 of iris went live")
    assert out.count("now validating") == 1  # each timeline event printed once across polls


def test_a_failed_rollout_prints_its_reason_and_exits_1(cli: Cli, bundle: Path, registry: DynamoDBRegistry) -> None:
    reason = Reason(code="smoke_test.failed", message="the smoke test got HTTP 500")
    cli.script.steps = [
        intake_of(registry, "iris", KEY),
        move(registry, "iris", 1, VersionStatus.ROLLED_BACK, reason=reason),
    ]
    line = one_error_line(cli("deploy", str(bundle), "--api", "iris"))
    assert line == "error: smoke_test.failed: v1 rolled_back: the smoke test got HTTP 500"


def test_following_gives_up_after_the_timeout(cli: Cli, bundle: Path, registry: DynamoDBRegistry) -> None:
    cli.script.steps = [intake_of(registry, "iris", KEY), *[lambda: None] * 3]
    line = one_error_line(cli("deploy", str(bundle), "--api", "iris", "--timeout", "5"))
    assert "v1 is still pending after 5 s; the rollout goes on" in line


def test_an_upload_the_intake_never_registers_is_reported(cli: Cli, bundle: Path) -> None:
    cli.script.steps = [lambda: None] * 60
    line = one_error_line(cli("deploy", str(bundle), "--api", "iris"))
    assert "was not registered within 120 s" in line


@pytest.mark.parametrize(
    ("api", "expected"),
    [("Iris", "invalid API name 'Iris'"), ("x" * 41, "invalid API name")],
)
def test_invalid_api_names_upload_nothing(cli: Cli, bundle: Path, api: str, expected: str) -> None:
    assert expected in one_error_line(cli("deploy", str(bundle), "--api", api))
    assert _versions() == []


def test_a_symlink_out_of_the_directory_uploads_nothing(cli: Cli, bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    (bundle / "model" / "link").symlink_to(tmp_path / "secret")
    assert "symlink model/link" in one_error_line(cli("deploy", str(bundle), "--api", "iris"))
    assert _versions() == []


def test_a_bundle_the_workflow_would_refuse_is_refused_before_upload(cli: Cli, bundle: Path) -> None:
    (bundle / "predictor.py").unlink()
    line = one_error_line(cli("deploy", str(bundle), "--api", "iris"))
    assert line.startswith("error: bundle.")
    assert _versions() == []


def test_multipart_upload_reports_the_completed_version(aws: None, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    path = tmp_path / "big.tar.gz"
    path.write_bytes(b"z" * (11 * 1024 * 1024))
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    sent: list[int] = []
    version_id = upload(client("s3"), path, BUCKET, KEY, progress=sent.append, config=config)
    assert [v["VersionId"] for v in _versions()] == [version_id]
    assert sum(sent) == path.stat().st_size


def test_an_unversioned_bucket_is_an_error(aws: None, tmp_path: Path) -> None:
    client("s3").create_bucket(Bucket="plain-bucket")
    path = tmp_path / "b.tar.gz"
    path.write_bytes(b"x")
    with pytest.raises(VersioningDisabledError, match="enable versioning on plain-bucket"):
        upload(client("s3"), path, "plain-bucket", KEY)


def test_json_output_is_the_version_on_stdout_and_progress_on_stderr(
    cli: Cli, bundle: Path, registry: DynamoDBRegistry
) -> None:
    cli.script.steps = [
        intake_of(registry, "iris", KEY),
        move(registry, "iris", 1, VersionStatus.SHIFTING, traffic_percent=10),
        move(registry, "iris", 1, VersionStatus.LIVE, traffic_percent=100),
    ]
    result = cli("deploy", str(bundle), "--api", "iris", "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    [version] = _versions()
    assert (view["api"], view["version"], view["version_id"]) == ("iris", "v1", version["VersionId"])
    assert (view["status"], view["reason"]) == ("live", None)
    assert "following v1 of iris" in result.stderr and "uploaded" in result.stderr


def test_json_output_without_waiting_reports_the_registered_version(
    cli: Cli, bundle: Path, registry: DynamoDBRegistry
) -> None:
    cli.script.steps = [intake_of(registry, "iris", KEY)]
    result = cli("deploy", str(bundle), "--api", "iris", "--no-wait", "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert (view["version"], view["status"]) == ("v1", "pending")


def test_json_output_of_a_failed_rollout_still_prints_the_version_then_exits_1(
    cli: Cli, bundle: Path, registry: DynamoDBRegistry
) -> None:
    reason = Reason(code="smoke_test.failed", message="the smoke test got HTTP 500")
    cli.script.steps = [
        intake_of(registry, "iris", KEY),
        move(registry, "iris", 1, VersionStatus.ROLLED_BACK, reason=reason),
    ]
    result = cli("deploy", str(bundle), "--api", "iris", "-o", "json")
    assert result.exit_code == 1
    view = json.loads(result.stdout)
    assert (view["status"], view["reason"]["code"]) == ("rolled_back", "smoke_test.failed")
    assert (
        result.stderr.strip().splitlines()[-1]
        == "error: smoke_test.failed: v1 rolled_back: the smoke test got HTTP 500"
    )
