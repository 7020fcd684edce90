"""What serving needs: the image repository, the CodeBuild project that fills it, the per-API roles' boundary."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from axon import names
from axon.names import CODEBUILD_PROJECT, ECR_REPOSITORY
from axon.platforms import api_roles
from axon.settings import ENV_ECR_REPOSITORY, ENV_MODELS_BUCKET
from cdk_app.constructs.packaging import stage_build_source
from cdk_app.constructs.permissions import VERSIONS
from cdk_app.constructs.storage import ModelsStore
from cdk_app.nag import acknowledge, acknowledge_wildcards, action_finding, resource_finding, skip_scan

BUILDSPEC = "buildspec.yml"  # at the source root (stage_build_source)
ENV_ECR_REPOSITORY_URI = "AXON_ECR_REPOSITORY_URI"
# Images are content-addressed (rt-<hash>); keep the most recent ones, untagged layers go after a day.
KEEP_IMAGES = 200
BUILD_TIMEOUT = Duration.minutes(60)
ECR_LOGIN_REASON = "ecr:GetAuthorizationToken supports no resource-level permissions; AWS requires '*'."


class Serving(Construct):
    """ECR repository, image-build project (buildspec from ``model_images/``) and the per-API roles' boundary."""

    def __init__(self, scope: Construct, construct_id: str, *, models: ModelsStore) -> None:
        super().__init__(scope, construct_id)
        self.repository = ecr.Repository(
            self,
            "Images",
            repository_name=ECR_REPOSITORY,
            image_scan_on_push=True,
            # Immutable: a tag, once pushed, always names the same digest. Two builds of one content-addressed
            # tag may race; the buildspec makes the loser use the winner's digest. Only the build project pushes.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            lifecycle_rules=[
                ecr.LifecycleRule(tag_status=ecr.TagStatus.UNTAGGED, max_image_age=Duration.days(1)),
                ecr.LifecycleRule(tag_status=ecr.TagStatus.ANY, max_image_count=KEEP_IMAGES),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        skip_scan(
            self.repository,
            "CKV_AWS_136",
            "Images are encrypted at rest with ECR's AES-256 default and hold no secrets (bundles stay in S3 under "
            "the data key); ECR cannot change a repository's encryption in place, so KMS would replace this named, "
            "retained repository.",
        )
        self.project = self._build_project(models)
        self.api_role_boundary = self._api_role_boundary(models)

    def _build_project(self, models: ModelsStore) -> codebuild.Project:
        with tempfile.TemporaryDirectory(prefix="axon-build-source-") as tmp:
            # Staged into the cloud assembly here, while the folder exists.
            source = s3_assets.Asset(self, "ServingSource", path=str(stage_build_source(Path(tmp) / "source")))
        log_group = logs.LogGroup(
            self,
            "BuildLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip_scan(
            log_group,
            "CKV_AWS_158",
            "Build logs hold pip and docker output for public packages and image tags, never secrets or bundle "
            "contents; CloudWatch Logs encrypts them at rest with its service keys.",
        )
        project = codebuild.Project(
            self,
            "ImageBuild",
            project_name=CODEBUILD_PROJECT,
            description="axon: builds content-addressed serving images (model_images/buildspec.yml)",
            source=codebuild.Source.s3(bucket=source.bucket, path=source.s3_object_key),
            build_spec=codebuild.BuildSpec.from_source_filename(BUILDSPEC),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.MEDIUM,
                privileged=True,
            ),
            environment_variables={
                ENV_ECR_REPOSITORY: codebuild.BuildEnvironmentVariable(value=self.repository.repository_name),
                ENV_ECR_REPOSITORY_URI: codebuild.BuildEnvironmentVariable(value=self.repository.repository_uri),
                ENV_MODELS_BUCKET: codebuild.BuildEnvironmentVariable(value=models.bucket.bucket_name),
            },
            encryption_key=models.key,
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
            timeout=BUILD_TIMEOUT,
        )
        self.repository.grant_push(project)  # the build pulls no image of its own repository
        # The buildspec resolves the tag to its digest (skip, race check, IMAGE_URI by digest).
        self.repository.grant(project, "ecr:DescribeImages")
        read_bundles = iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[models.bucket.arn_for_objects(VERSIONS)]
        )
        project.add_to_role_policy(read_bundles)
        models.key.grant_decrypt(project)
        acknowledge_wildcards(
            project,
            read_bundles,
            "A build reads the one bundle it builds an image for: the validated copy under versions/<api>/<version>/, "
            "whose key the rollout passes at run time (AXON_BUNDLE_URI).",
        )
        self._acknowledge_project_defaults(project)
        return project

    def _acknowledge_project_defaults(self, project: codebuild.Project) -> None:
        """Wildcards in the statements CDK itself adds to every CodeBuild project's role."""
        stack = Stack.of(self)
        reasons = {
            action_finding(action): "CDK's read grant on the project's source: the one staged build-source "
            "asset object (axon/, model_images/) in the CDK bootstrap bucket."
            for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
        }
        reasons |= {
            action_finding(action): "CodeBuild encrypts build output with the data key; CDK grants the "
            "GenerateDataKey*/ReEncrypt* family for it, on that one key only."
            for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
        }
        codebuild_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/codebuild/{project.project_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        reasons[resource_finding(self, f"{codebuild_logs}:*")] = (
            "CDK's default CodeBuild logging grant: the streams of this project's own log group."
        )
        report_groups = stack.format_arn(
            service="codebuild", resource="report-group", resource_name=f"{project.project_name}-*"
        )
        reasons[resource_finding(self, report_groups)] = (
            "CDK's default CodeBuild test-report grant, limited to report groups named after this project."
        )
        reasons["AwsSolutions-IAM5[Resource::*]"] = ECR_LOGIN_REASON
        reasons["AwsSolutions-CB3"] = "Building container images needs the Docker daemon (privileged mode)."
        for finding, reason in reasons.items():
            acknowledge(project, finding, reason)

    def _api_role_boundary(self, models: ModelsStore) -> iam.ManagedPolicy:
        """The most any API's own role (``axon.platforms.api_roles``) may ever do: the permissions boundary the
        control plane must attach to every role it creates (its ``iam:CreateRole`` is conditioned on it).

        The document is ``api_roles.boundary_policy`` itself, filled with this stack's tokens: local mode creates
        the same one, so the two cannot drift. Each role's inline policy narrows it to its own API; the boundary
        keeps a control plane that writes a broader inline policy (a bug, or an attacker holding its credentials)
        within these resources.
        """
        stack = Stack.of(self)
        account = api_roles.Account(
            stack.partition, stack.account, stack.region, models.bucket.bucket_name, self.repository.repository_name
        )
        statements = {
            str(statement["Sid"]): iam.PolicyStatement.from_json(statement)
            for statement in api_roles.boundary_policy(account)["Statement"]
        }
        boundary = iam.ManagedPolicy(
            self,
            "ApiRoleBoundary",
            managed_policy_name=names.API_ROLE_BOUNDARY,
            path=names.API_ROLE_BOUNDARY_PATH,
            description="axon: permissions boundary of every per-API role (what user code may ever do)",
            statements=list(statements.values()),
        )
        for sid, statement in statements.items():
            acknowledge_wildcards(boundary, statement, _BOUNDARY_REASONS[sid])
        return boundary


# Why each statement of the per-API boundary has the wildcards it has (cdk-nag), by the statement's Sid.
_BOUNDARY_REASONS = {
    "OwnBundles": "Replicas read their own API's bundles under apis/<api>/ and versions/<api>/; the per-API inline "
    "policy names the API, this boundary only caps it to those two prefixes.",
    "DecryptThroughS3": "S3 decrypts a replica's bundle with the models bucket's key (kms:ViaService is S3 in this "
    "region); which objects a role may read is the S3 statement's, per API.",
    "OwnLogGroup": "Replicas log to /aws/sagemaker/Endpoints/axon-<api>; the per-API inline policy names the API's "
    "own group, this boundary caps it to axon's groups.",
    "OwnMetricNamespace": "cloudwatch:PutMetricData supports no resource-level permissions; the cloudwatch:namespace "
    "condition caps it to the per-API namespaces Axon/Api/<api> (each role's own policy names its one namespace).",
    "PullServingImage": "SageMaker and ECS pull the serving image as the API's role.",
    "EcrLogin": ECR_LOGIN_REASON,
    "OwnAsyncInputs": "An async API's endpoint reads its requests under inputs/<api>/; the per-API inline policy "
    "names the API, this boundary caps it to the inputs/ prefix.",
    "OwnAsyncResults": "An async API's endpoint writes its answers and failures under results/<api>/; the per-API "
    "inline policy names the API, this boundary caps it to the results/ prefix.",
    "EncryptThroughS3": "S3 encrypts an async answer with the models bucket's key (kms:ViaService is S3 in this "
    "region); which objects a role may write is the S3 statement's, per API.",
    "OwnAsyncTopics": "An async API's endpoint notifies its topics axon-<api>-async-success/error, created at run "
    "time; the per-API inline policy names the API's own two.",
    "OwnAsyncQueue": "An ECS async API's workers take requests from its queue axon-<api>-async, created at run time; "
    "the per-API inline policy names the API's own queue (never its dead-letter queue).",
}
