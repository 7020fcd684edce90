"""The image build as it runs on AWS: the buildspec's commands, as CodeBuild runs them, on the synthesized source.

The source is the very asset directory of ``AxonCore``'s CodeBuild project in the session's cloud assembly.
``docker`` is a checker (Dockerfile, context, every COPY source, target stages, build args) and a registry client
of moto's ECR; ``aws`` makes the CLI's calls against a moto server; S3, ECR and STS answer as moto does.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import tomllib
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from axon import names
from axon.rollout.prepare import image_key_of
from axon.spec import load_spec_text
from bench.faults.iam import Account, requests
from bench.faults.iam_policies import Resolver, applies, bucket_keys, grants, permitted, resolver, role_documents
from cdk_app.constructs.packaging import BUILD_SOURCE
from tests.cdk.codebuild_runner import BuildRun, run_buildspec
from tests.cdk.conftest import Synth
from tests.unit.bundle.builder import valid

pytestmark = pytest.mark.xdist_group("cdk")

BUCKET = "axon-models-test"
API = "iris"
REGION = "us-east-1"


def _project(synth: Synth) -> dict[str, Any]:
    project: dict[str, Any]
    (project,) = [
        r["Properties"]
        for r in synth.of_type("AWS::CodeBuild::Project").values()
        if r["Properties"]["Name"] == names.CODEBUILD_PROJECT
    ]
    return project


def _project_role_statements(synth: Synth) -> list[dict[str, Any]]:
    role = _project(synth)["ServiceRole"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def build_source(synth: Synth) -> Path:
    """The asset directory the CodeBuild project's S3 source is zipped from (``cdk.out/asset.<hash>``)."""
    location = json.dumps(_project(synth)["Source"]["Location"])
    manifest = json.loads(synth.template_path.with_name(f"{synth.stack.artifact_id}.assets.json").read_text())
    (asset,) = [a for h, a in manifest["files"].items() if f"{h}.zip" in location]
    assert asset["source"]["packaging"] == "zip"
    return synth.template_path.parent / str(asset["source"]["path"])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch, synth: Synth) -> dict[str, str]:
    """A fresh moto account: the models bucket and the image repository as the template configures it."""
    environment = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    (repository,) = synth.of_type("AWS::ECR::Repository").values()
    boto3.client("ecr").create_repository(
        repositoryName=names.ECR_REPOSITORY,
        imageTagMutability=repository["Properties"].get("ImageTagMutability", "MUTABLE"),
    )
    return environment


def _upload(spec: str = "", requirements: str = "numpy==2.0\n") -> tuple[str, str]:
    """A validated bundle's versions/ copy, and the image tag the rollout computes for it."""
    key = names.immutable_bundle_key(API, "v1-abc")
    data = valid(spec=spec or None).file("requirements.txt", requirements).build()
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)
    tag = names.image_tag(image_key_of(load_spec_text(spec or None), requirements))
    return f"s3://{BUCKET}/{key}", tag


def _build(
    build_source: Path,
    tmp_path: Path,
    aws: dict[str, str],
    bundle_uri: str,
    tag: str,
    flavour: str = "cpu",
    **extra: str,
) -> BuildRun:
    """One build: a fresh copy of the source (CodeBuild unzips it per build) and the rollout's overrides."""
    source = tmp_path / "src"
    shutil.copytree(build_source, source)
    project = {  # the project's variables (names from the template) and resolve_image's overrides
        "AXON_ECR_REPOSITORY": names.ECR_REPOSITORY,
        "AXON_ECR_REPOSITORY_URI": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{names.ECR_REPOSITORY}",
        "AXON_MODELS_BUCKET": BUCKET,
    }
    overrides = {"AXON_API": API, "AXON_IMAGE_TAG": tag, "AXON_FLAVOUR": flavour, "AXON_BUNDLE_URI": bundle_uri}
    return run_buildspec(source / "buildspec.yml", source, {**aws, **project, **overrides, **extra}, tmp_path / "cb")


def _digest(tag: str) -> str:
    images = boto3.client("ecr").describe_images(repositoryName=names.ECR_REPOSITORY, imageIds=[{"imageTag": tag}])
    digest: str = images["imageDetails"][0]["imageDigest"]
    return digest


def _repository_uri() -> str:
    return f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{names.ECR_REPOSITORY}"


def test_the_build_source_is_the_allowlist_with_the_buildspec_at_its_root(synth: Synth, build_source: Path) -> None:
    assert {p.name for p in build_source.iterdir()} == {*BUILD_SOURCE, "buildspec.yml"}
    assert not list(build_source.rglob("__pycache__"))
    assert _project(synth)["Source"]["BuildSpec"] == "buildspec.yml"
    names_set = {v["Name"] for v in _project(synth)["Environment"]["EnvironmentVariables"]}
    assert names_set == {"AXON_ECR_REPOSITORY", "AXON_ECR_REPOSITORY_URI", "AXON_MODELS_BUCKET"}


def test_the_serving_image_never_contains_the_local_stack_or_its_emulators(build_source: Path) -> None:
    """The local stack is its own package (``axon_local``): outside the image's source, and no extra it installs."""
    assert not [p for p in build_source.rglob("*") if "axon_local" in p.parts or p.name == "demo.py"]
    project = tomllib.loads((build_source / "pyproject.toml").read_text())["project"]
    serve = project["optional-dependencies"]["serve"]
    assert not [req for req in serve if req.split(">")[0].split("[")[0].strip() in {"moto", "a2wsgi", "axon"}]
    dockerfiles = sorted((build_source / "model_images").glob("*/Dockerfile"))
    assert [d.parent.name for d in dockerfiles] == ["cpu", "gpu"]
    for dockerfile in dockerfiles:
        installs = [line for line in dockerfile.read_text().splitlines() if "/tmp/axon-src[" in line]
        assert installs and all('"/tmp/axon-src[serve]"' in line for line in installs), dockerfile


@pytest.mark.parametrize("flavour", ["cpu", "gpu"])
def test_a_new_image_is_built_from_the_synthesized_source_and_pushed_by_digest(
    build_source: Path, tmp_path: Path, aws: dict[str, str], flavour: str
) -> None:
    bundle_uri, tag = _upload()
    run = _build(build_source, tmp_path, aws, bundle_uri, tag, flavour)
    assert run.status == "SUCCEEDED", run.output
    assert run.phases == {
        "install": "SUCCEEDED",
        "pre_build": "SUCCEEDED",
        "build": "SUCCEEDED",
        "post_build": "SUCCEEDED",
    }
    assert run.exported == {"IMAGE_BUILT": "true", "IMAGE_URI": f"{_repository_uri()}@{_digest(tag)}"}
    builds = run.calls_of("docker", command="build")
    assert [b["target"] for b in builds] == ["runtime", None] and all(b["copies_checked"] >= 3 for b in builds)
    (inspector,) = run.calls_of("docker", command="run")
    assert (inspector["network"], inspector["user"], inspector["read_only"]) == ("none", "10001:10001", True)
    requirements = (tmp_path / "src" / "build" / "requirements.txt").read_text().splitlines()
    assert [line for line in requirements if not line.startswith("#")] == ["--only-binary :all:", "numpy==2.0"]


def test_the_build_role_reads_exactly_the_bundle_key_the_build_reads(
    synth: Synth, build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    bundle_uri, tag = _upload()
    run = _build(build_source, tmp_path, aws, bundle_uri, tag)
    (read,) = run.calls_of("aws", action="s3:GetObject")
    assert f"s3://{read['bucket']}/{read['key']}" == bundle_uri
    s3_reads = [
        s for s in _project_role_statements(synth) if any(a.startswith("s3:GetObject") for a in _listed(s["Action"]))
    ]
    bundle_reads = [
        s for s in s3_reads if "/versions/" in json.dumps(s["Resource"]) or "/apis/" in json.dumps(s["Resource"])
    ]
    (statement,) = bundle_reads
    assert _listed(statement["Action"]) == ["s3:GetObject"]
    (resource,) = _listed(statement["Resource"])
    suffix = resource["Fn::Join"][1][-1]
    assert suffix == "/versions/*" and fnmatch.fnmatch(f"/{read['key']}", suffix)
    ecr_actions = {a for s in _project_role_statements(synth) for a in _listed(s["Action"]) if a.startswith("ecr:")}
    assert {"ecr:DescribeImages", "ecr:GetAuthorizationToken", "ecr:PutImage"} <= ecr_actions


def test_an_existing_tag_is_reused_by_digest_without_building(
    build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    bundle_uri, tag = _upload()
    first = _build(build_source, tmp_path / "first", aws, bundle_uri, tag)
    assert first.status == "SUCCEEDED", first.output
    second = _build(build_source, tmp_path / "second", aws, bundle_uri, tag)
    assert second.status == "SUCCEEDED", second.output
    assert second.exported == {"IMAGE_BUILT": "false", "IMAGE_URI": first.exported["IMAGE_URI"]}
    assert second.calls_of("docker") == []


def test_a_build_that_loses_the_push_race_succeeds_with_the_winners_digest(
    synth: Synth, build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    (repository,) = synth.of_type("AWS::ECR::Repository").values()
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    bundle_uri, tag = _upload()
    run = _build(build_source, tmp_path, aws, bundle_uri, tag, AXON_SHIM_RACE="1")
    assert run.status == "SUCCEEDED", run.output
    pushes = run.calls_of("docker", command="push")
    assert len(pushes) == 1, run.output
    (push,) = pushes
    assert push["refused"] is True and "already exists" in run.output
    assert run.exported == {"IMAGE_BUILT": "true", "IMAGE_URI": f"{_repository_uri()}@{_digest(tag)}"}


def test_source_builds_are_allowed_only_when_the_spec_says_so(
    build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    bundle_uri, tag = _upload(spec="build: {allow_source_builds: true}\n")
    run = _build(build_source, tmp_path, aws, bundle_uri, tag)
    assert run.status == "SUCCEEDED", run.output
    requirements = (tmp_path / "src" / "build" / "requirements.txt").read_text()
    assert "--only-binary" not in requirements and "numpy==2.0" in requirements


@pytest.mark.parametrize(
    ("missing", "phase"),
    [
        ("README.md", "build"),  # a COPY source of the runtime stage
        ("model_images/gpu/Dockerfile", "build"),
        ("axon/bundle/requirements_of.py", "build"),  # what the runtime stage runs on the bundle
        ("buildspec.yml", None),
    ],
)
def test_a_path_missing_from_the_source_fails_the_build(
    build_source: Path, tmp_path: Path, aws: dict[str, str], missing: str, phase: str | None
) -> None:
    bundle_uri, tag = _upload()
    source = tmp_path / "trimmed"
    shutil.copytree(build_source, source)
    (source / missing).unlink()
    if phase is None:
        assert not (source / "buildspec.yml").exists()  # CodeBuild: YAML_FILE_ERROR before any phase
        return
    run = _build(source, tmp_path, aws, bundle_uri, tag, "gpu")
    assert run.status == "FAILED" and run.phases[phase] == "FAILED", run.output
    assert run.calls_of("docker", command="push") == []


def test_an_ecr_error_other_than_not_found_fails_instead_of_rebuilding(
    build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    bundle_uri, tag = _upload()
    boto3.client("ecr").delete_repository(repositoryName=names.ECR_REPOSITORY, force=True)
    run = _build(build_source, tmp_path, aws, bundle_uri, tag)
    assert run.status == "FAILED" and run.phases["pre_build"] == "FAILED", run.output
    assert "RepositoryNotFoundException" in run.output and run.calls_of("docker") == []


# ---- the image build ------------------------------------------------------------------------------------------

# Held by the build role, used by no call of a build, and why each stays. Keep it small.
BUILD_UNUSED = {
    "s3:GetBucket*": "CDK's grant on the source asset: CodeBuild may read the bucket's location and ACL",
    "s3:List*": "CDK's grant on the source asset",
    "kms:Encrypt": "CodeBuild encrypts artifacts and logs with the project key (the build keeps none)",
    "kms:ReEncrypt*": "CDK's grant with the project key",
    "kms:GenerateDataKey*": "CodeBuild encrypts artifacts and logs with the project key (the build keeps none)",
    "logs:CreateLogGroup": "CodeBuild creates its log group when it is missing (the stack creates it)",
    "codebuild:CreateReportGroup": "CDK's default report-group grant (the buildspec writes no reports)",
    "codebuild:CreateReport": "CDK's default report-group grant (the buildspec writes no reports)",
    "codebuild:UpdateReport": "CDK's default report-group grant (the buildspec writes no reports)",
    "codebuild:BatchPutTestCases": "CDK's default report-group grant (the buildspec writes no reports)",
    "codebuild:BatchPutCodeCoverages": "CDK's default report-group grant (the buildspec writes no reports)",
}


def _build_calls(run: BuildRun, project: dict[str, Any], found: Resolver) -> list[tuple[str, str, dict[str, Any]]]:
    """(service, operation, params) of every call one build makes, CodeBuild's own included."""
    repository = names.ECR_REPOSITORY
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for entry in run.calls:
        if entry["tool"] == "aws":
            service, operation = entry["action"].split(":")
            params = {"s3": {"Bucket": entry.get("bucket"), "Key": entry.get("key")}}.get(service, {})
            calls.append((service, operation, {**params, "repositoryName": entry.get("repository", repository)}))
        elif entry["tool"] == "docker" and entry["command"] == "push":
            layers = ("BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload")
            calls += [("ecr", op, {"repositoryName": repository}) for op in (*layers, "PutImage")]
    source = found.resolve(project["Source"]["Location"]).split("/", 1)
    calls.append(("s3", "GetObject", {"Bucket": source[0], "Key": source[1]}))  # CodeBuild fetches the source
    group = found.name(project["LogsConfig"]["CloudWatchLogs"]["GroupName"]["Ref"])
    stream = {"logGroupName": group, "logStreamName": "build-id"}
    calls += [("logs", "CreateLogStream", stream), ("logs", "PutLogEvents", stream)]
    return calls


def test_every_call_of_an_image_build_is_allowed_by_the_build_role_and_every_grant_is_used(
    synth: Synth, build_source: Path, tmp_path: Path, aws: dict[str, str]
) -> None:
    bundle_uri, tag = _upload()
    run = _build(build_source, tmp_path, aws, bundle_uri, tag)
    assert run.status == "SUCCEEDED", run.output
    found = resolver(synth.template.to_json(), {"AXON_MODELS_BUCKET": BUCKET}, Account())
    account = Account(bucket_keys=bucket_keys(found))
    project = _project(synth)
    documents = role_documents(found, project["ServiceRole"]["Fn::GetAtt"][0])
    built = [r for s, o, p in _build_calls(run, project, found) for r in requests(account, s, o, p)]
    denied = sorted({str(r) for r in built if not permitted(documents, r)})
    assert not denied, "requests the build role does not allow:\n" + "\n".join(denied)
    used: dict[str, bool] = defaultdict(bool)
    for grant, statement in grants(documents):
        used[grant.action] |= any(applies(statement, r) for r in built)
    unused = {action for action, is_used in used.items() if not is_used}
    assert unused == set(BUILD_UNUSED), (
        f"unused: {sorted(unused - set(BUILD_UNUSED))}, now used: {sorted(set(BUILD_UNUSED) - unused)}"
    )
