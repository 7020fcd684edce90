"""What each control-plane Lambda may do, as IAM statements scoped to axon's own resources.

Every statement names the exact resource or an ``axon-*`` pattern; a statement that needs a wildcard says
why next to it, and that reason becomes its cdk-nag acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from axon.functions import LambdaFunction
from axon.names import (
    ASYNC_TOPIC_PATTERN,
    BUNDLE_PREFIX,
    ECS_CLUSTER,
    STATE_MACHINE,
    VERSIONS_PREFIX,
    log_group,
)
from axon.registry.keys import ENTITY_INDEX
from cdk_app.constructs.ecs_permissions import API_ROLES_REASON, AXON_PATTERN, EcsAccess
from cdk_app.nag import Permission, allow

BUNDLES = f"{BUNDLE_PREFIX}*"
VERSIONS = f"{VERSIONS_PREFIX}*"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


@dataclass(frozen=True)
class ControlPlaneResources:
    """The resources the control plane acts on."""

    bucket: s3.IBucket
    data_key: kms.IKey
    table: dynamodb.ITableV2
    repository: ecr.IRepository
    project: codebuild.IProject
    api_role_boundary: iam.IManagedPolicy  # every per-API role must carry it (axon.platforms.api_roles)
    state_machine_arn: str
    event_bus_arn: str


_REGISTRY_WRITES = ("GetItem", "PutItem", "UpdateItem")  # reads, and the transactions of puts and updates


class ControlPlaneAccess(EcsAccess):
    """Permission sets, one method each, composed per Lambda by :meth:`for_function` from the sets its catalogue
    entry names (``axon.functions.Grant``; the ECS ones are :class:`EcsAccess`'s)."""

    def __init__(self, stack: Stack, resources: ControlPlaneResources) -> None:
        super().__init__(stack)
        self._r = resources

    def for_function(self, spec: LambdaFunction) -> tuple[Permission, ...]:
        """Everything the Lambda ``spec`` needs, and nothing else: the permission sets its catalogue entry grants."""
        grants: list[Callable[[], tuple[Permission, ...]]] = [getattr(self, grant) for grant in spec.grants]
        return tuple(permission for grant in grants for permission in grant())

    def write_registry(self) -> tuple[Permission, ...]:
        """Reads and the transactions of puts and updates, never a query."""
        return self.registry(*_REGISTRY_WRITES)

    def use_registry(self) -> tuple[Permission, ...]:
        """Writes, and queries of an API's versions and timeline."""
        return self.registry(*_REGISTRY_WRITES, "Query")

    def keep_scaler_state(self) -> tuple[Permission, ...]:
        """The autoscaler reads the registry and writes its own state items (PutItem, batch reads)."""
        return self.registry("GetItem", "PutItem", "Query", "BatchGetItem")

    def registry(self, *actions: str) -> tuple[Permission, ...]:
        """The registry table (and its entity index), for the DynamoDB ``actions`` the function's code makes:
        no Lambda deletes items or batch-writes (``axon delete`` runs in the CLI), none sends a ConditionCheck."""
        table = self._r.table.table_arn
        return (Permission(allow([f"dynamodb:{a}" for a in actions], [table, f"{table}/index/{ENTITY_INDEX}"])),)

    def read_uploads(self) -> tuple[Permission, ...]:
        """Validation reads the upload, always by the VersionId its event names (never the key's newest)."""
        return (
            Permission(
                allow(["s3:GetObjectVersion"], [self._r.bucket.arn_for_objects(BUNDLES)]),
                "Bundles are uploaded under apis/<api>/<any name>.tar.gz; the Lambda reads whichever key the upload "
                "event names, only under the apis/ prefix of the models bucket.",
            ),
            Permission(allow(["kms:Decrypt"], [self._r.data_key.key_arn])),
        )

    def publish_versions(self) -> tuple[Permission, ...]:
        """Validation copies the bundle to the immutable ``versions/`` prefix that replicas read from."""
        return (
            Permission(
                allow(["s3:PutObject"], [self._r.bucket.arn_for_objects(VERSIONS)]),
                "Each validated version is written once under versions/<api>/<version>; nothing outside that prefix.",
            ),
            Permission(allow(["kms:GenerateDataKey"], [self._r.data_key.key_arn])),
        )

    def read_capacity(self) -> tuple[Permission, ...]:
        """Validation counts the replicas every live API runs against the platform-wide cap (read only)."""
        return (
            Permission(
                allow(["sagemaker:DescribeEndpoint"], [self._arn("sagemaker", "endpoint", AXON_PATTERN)]),
                "Every live API's endpoint is named axon-<api>, created at run time.",
            ),
            Permission(
                allow(["ecs:DescribeServices"], [self._ecs_services()]),
                f"Every live ECS API's service is named axon-<api>-<label>, created at run time in cluster "
                f"{ECS_CLUSTER}.",
            ),
            self._describe_listener(),
            self.read_queue_owner(),
        )

    def find_images(self) -> tuple[Permission, ...]:
        # DescribeRepositories: the image URI of a reused or built tag is the repository's URI plus the tag.
        actions = ["ecr:DescribeImages", "ecr:DescribeRepositories"]
        return (Permission(allow(actions, [self._r.repository.repository_arn])),)

    def start_builds(self) -> tuple[Permission, ...]:
        return (Permission(allow(["codebuild:StartBuild"], [self._r.project.project_arn])),)

    def poll_builds(self) -> tuple[Permission, ...]:
        return (Permission(allow(["codebuild:BatchGetBuilds"], [self._r.project.project_arn])),)

    def control_endpoints(self) -> tuple[Permission, ...]:
        verbs = ("Create", "Describe", "Delete")
        actions = [f"sagemaker:{verb}{kind}" for verb in verbs for kind in ("Model", "EndpointConfig", "Endpoint")]
        actions.remove("sagemaker:DescribeModel")  # a version's model is found through its endpoint config
        actions += [
            "sagemaker:UpdateEndpoint",
            "sagemaker:InvokeEndpoint",
            "sagemaker:AddTags",
        ]
        sagemaker = [self._arn("sagemaker", kind, AXON_PATTERN) for kind in ("model", "endpoint-config", "endpoint")]
        return (
            Permission(
                allow(actions, sagemaker),
                "SageMaker models, endpoint configs and endpoints are created per API and version at run time; "
                "all of them, and only they, are named axon-<api>[-<version>].",
            ),
            Permission(
                allow(
                    ["iam:PassRole"],
                    [self._api_roles()],
                    conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_PRINCIPAL}},
                ),
                API_ROLES_REASON,
            ),
            *self._async_topics(),
            self._alarms(
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:SetAlarmState",  # ECS re-arms an API's alarms; SageMaker trips one to stop an update
            ),
        )

    def _async_topics(self) -> tuple[Permission, ...]:
        """An async API's two notification topics: created (tagged) with its first rollout, deleted with the API."""
        return (
            Permission(
                allow(
                    ["sns:CreateTopic", "sns:TagResource", "sns:DeleteTopic"],
                    [self._stack.format_arn(service="sns", resource=ASYNC_TOPIC_PATTERN)],
                ),
                "Each async API's topics are named axon-<api>-async-success/error, created at run time; nothing "
                "else matches this pattern.",
            ),
            Permission(
                allow(["sns:ListTopics"], ["*"]),
                "sns:ListTopics supports no resource-level permissions; AWS requires Resource '*'. It finds an API's "
                "topics to delete them.",
            ),
        )

    def manage_api_roles(self) -> tuple[Permission, ...]:
        """Get-or-create each API's role at rollout, delete it with a first version that failed.

        ``CreateRole`` and ``PutRolePolicy`` only with axon's permissions boundary attached (``iam:PermissionsBoundary``),
        so the control plane cannot mint a role broader than the boundary; nothing may change a role's trust policy
        or remove its boundary (``UpdateAssumeRolePolicy``, ``DeleteRolePermissionsBoundary`` are not granted).
        """
        roles = [self._api_roles()]
        boundary = {"StringEquals": {"iam:PermissionsBoundary": self._r.api_role_boundary.managed_policy_arn}}
        return (
            Permission(allow(["iam:CreateRole", "iam:PutRolePolicy"], roles, boundary), API_ROLES_REASON),
            Permission(
                allow(["iam:GetRole", "iam:TagRole", "iam:DeleteRolePolicy", "iam:DeleteRole"], roles),
                API_ROLES_REASON,
            ),
        )

    def read_replica_logs(self) -> tuple[Permission, ...]:
        """Why a new version's replica died: its log (SageMaker endpoint or ECS task), one group per API."""
        groups = self._arn("logs", "log-group", log_group("*"), ArnFormat.COLON_RESOURCE_NAME)
        return (
            Permission(
                allow(["logs:FilterLogEvents", "logs:GetLogEvents"], [groups]),
                "Each API logs to its own group, named per API at run time (axon.names.log_group).",
            ),
        )

    def scale_endpoints(self) -> tuple[Permission, ...]:
        return (
            Permission(
                allow(
                    ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                    [self._arn("sagemaker", "endpoint", AXON_PATTERN)],
                ),
                "The autoscaler scales every live API's endpoint; they are all named axon-<api>, created at run time.",
            ),
            Permission(
                allow(["cloudwatch:GetMetricData"], ["*"]),
                "cloudwatch:GetMetricData supports no resource-level permissions; AWS requires Resource '*'.",
            ),
        )

    def _alarms(self, *actions: str) -> Permission:
        return Permission(
            allow(list(actions), [self._arn("cloudwatch", "alarm", AXON_PATTERN, ArnFormat.COLON_RESOURCE_NAME)]),
            "Per-API rollback alarms are named axon-<api>-<kind> and created at run time; platform alarms are "
            "named AxonPlatform-* so this pattern cannot touch them.",
        )

    def watch_executions(self) -> tuple[Permission, ...]:
        """The reconciler asks whether a lease's execution still runs."""
        executions = self._arn("states", "execution", f"{STATE_MACHINE}:*", ArnFormat.COLON_RESOURCE_NAME)
        return (
            Permission(
                allow(["states:DescribeExecution"], [executions]),
                "Execution names are derived from each upload at run time; this is the rollout machine's executions.",
            ),
        )

    def list_uploads(self) -> tuple[Permission, ...]:
        """The reconciler lists recent object versions under apis/ to register uploads whose event was missed."""
        return (
            Permission(
                allow(
                    ["s3:ListBucketVersions"],
                    [self._r.bucket.bucket_arn],
                    {"StringLike": {"s3:prefix": [BUNDLES]}},
                )
            ),
        )

    def start_rollouts(self) -> tuple[Permission, ...]:
        return (Permission(allow(["states:StartExecution"], [self._r.state_machine_arn])),)

    def notify(self) -> tuple[Permission, ...]:
        return (Permission(allow(["events:PutEvents"], [self._r.event_bus_arn])),)
