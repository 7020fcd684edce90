"""What each control-plane Lambda may do, as IAM statements scoped to axon's own resources.

Every statement names the exact resource or an ``axon-*`` pattern; a statement that needs a wildcard says
why next to it, and that reason becomes its cdk-nag acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from axon.names import (
    API_ROLE_PATH,
    ECS_SMOKE_FUNCTION,
    STATE_MACHINE,
    api_role_name,
    endpoint_name,
    log_group,
)
from axon.platforms.ecs_config import ECS_CONFIG_PARAMETER
from axon.registry.keys import ENTITY_INDEX
from cdk_app.stacks.ecs_stack import (
    CLUSTER_NAME,
    ECS_TASKS_PRINCIPAL,
    EXECUTION_ROLE_NAME,
    LOAD_BALANCER_NAME,
)

AXON_PATTERN = endpoint_name("*")  # axon-*: every per-API resource name starts so
BUNDLES = "apis/*"
VERSIONS = "versions/*"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
# axon.platforms.ecs_specs.target_group_name: "ax-<api>-<label>-<hash>" (target group names stop at 32 characters).
TARGET_GROUP_PATTERN = "ax-*"
API_ROLES_REASON = (
    "Each API's replicas run as their own role /axon/api/axon-api-<api>, created at its first rollout "
    "(axon.platforms.api_roles); only roles under that path, always with axon's permissions boundary."
)


@dataclass(frozen=True)
class Permission:
    """One statement; ``wildcard_reason`` is required when it holds a ``*`` (it becomes the acknowledgement)."""

    statement: iam.PolicyStatement
    wildcard_reason: str | None = None


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


def _allow(
    actions: list[str], resources: list[str], conditions: Mapping[str, Any] | None = None
) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)


class ControlPlaneAccess:
    """Permission sets, composed per Lambda by :meth:`for_function`."""

    def __init__(self, stack: Stack, resources: ControlPlaneResources) -> None:
        self._stack = stack
        self._r = resources

    def _arn(self, service: str, resource: str, name: str, fmt: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME) -> str:
        return self._stack.format_arn(service=service, resource=resource, resource_name=name, arn_format=fmt)

    def for_function(self, module: str) -> tuple[Permission, ...]:
        """Everything the Lambda in ``lambdas/<module>.py`` needs, and nothing else."""
        rollout = (
            self.manage_api_roles,
            self.control_endpoints,
            self.read_replica_logs,
            self.control_ecs_services,
            self.control_listener,
            self.read_ecs_config,
            self.invoke_ecs_smoke,
            self.registry,
            self.start_rollouts,
            self.notify,
        )
        images = (self.build_images, self.read_bundles, self.registry)
        plan: dict[str, tuple[Callable[[], tuple[Permission, ...]], ...]] = {
            "on_upload": (self.registry, self.start_rollouts),
            "validate_bundle": (
                self.read_bundles,
                self.publish_versions,
                self.read_capacity,
                self.registry,
                self.read_ecs_config,
            ),
            "resolve_image": images,
            "check_build": images,
            "deploy_version": rollout,
            "check_deployment": rollout,
            "verify_version": rollout,
            "finalize_rollout": rollout,
            "complete_rollout": rollout,
            "handle_failure": rollout,
            "on_execution_end": rollout,
            "reconcile": (*rollout, self.watch_executions, self.list_uploads),
            "autoscaler": (self.scale_endpoints, self.scale_ecs_services, self.read_ecs_config, self.registry),
        }
        if module not in plan:
            raise KeyError(f"no permissions planned for lambdas/{module}.py; add it to ControlPlaneAccess")
        return tuple(permission for grant in plan[module] for permission in grant())

    def registry(self) -> tuple[Permission, ...]:
        table = self._r.table.table_arn
        actions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem"]
        return (
            Permission(
                _allow(
                    [f"dynamodb:{a}" for a in (*actions, "ConditionCheckItem")],
                    [table, f"{table}/index/{ENTITY_INDEX}"],
                )
            ),
        )

    def read_bundles(self) -> tuple[Permission, ...]:
        return (
            Permission(
                _allow(["s3:GetObject", "s3:GetObjectVersion"], [self._r.bucket.arn_for_objects(BUNDLES)]),
                "Bundles are uploaded under apis/<api>/<any name>.tar.gz; the Lambda reads whichever key the upload "
                "event names, only under the apis/ prefix of the models bucket.",
            ),
            Permission(_allow(["kms:Decrypt"], [self._r.data_key.key_arn])),
        )

    def publish_versions(self) -> tuple[Permission, ...]:
        """Validation copies the bundle to the immutable ``versions/`` prefix that replicas read from."""
        return (
            Permission(
                _allow(["s3:PutObject"], [self._r.bucket.arn_for_objects(VERSIONS)]),
                "Each validated version is written once under versions/<api>/<version>; nothing outside that prefix.",
            ),
            Permission(_allow(["kms:GenerateDataKey"], [self._r.data_key.key_arn])),
        )

    def read_capacity(self) -> tuple[Permission, ...]:
        """Validation counts the replicas every live API runs against the platform-wide cap (read only)."""
        return (
            Permission(
                _allow(["sagemaker:DescribeEndpoint"], [self._arn("sagemaker", "endpoint", AXON_PATTERN)]),
                "Every live API's endpoint is named axon-<api>, created at run time.",
            ),
            Permission(
                _allow(["ecs:DescribeServices"], [self._ecs_services()]),
                f"Every live ECS API's service is named axon-<api>-<label>, created at run time in cluster "
                f"{CLUSTER_NAME}.",
            ),
            self._describe_listener(),
        )

    def build_images(self) -> tuple[Permission, ...]:
        return (
            # DescribeRepositories: the image URI of a reused or built tag is the repository's URI plus the tag.
            Permission(_allow(["ecr:DescribeImages", "ecr:DescribeRepositories"], [self._r.repository.repository_arn])),
            Permission(_allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"], [self._r.project.project_arn])),
        )

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
                _allow(actions, sagemaker),
                "SageMaker models, endpoint configs and endpoints are created per API and version at run time; "
                "all of them, and only they, are named axon-<api>[-<version>].",
            ),
            Permission(
                _allow(
                    ["iam:PassRole"],
                    [self._api_roles()],
                    conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_PRINCIPAL}},
                ),
                API_ROLES_REASON,
            ),
            self._alarms(
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:SetAlarmState",  # ECS re-arms an API's alarms; SageMaker trips one to stop an update
            ),
        )

    def _api_roles(self) -> str:
        """``role/axon/api/axon-api-*``: the per-API roles, and nothing else in the account."""
        return self._stack.format_arn(
            service="iam", region="", resource="role", resource_name=f"{API_ROLE_PATH.strip('/')}/{api_role_name('*')}"
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
            Permission(_allow(["iam:CreateRole", "iam:PutRolePolicy"], roles, boundary), API_ROLES_REASON),
            Permission(
                _allow(["iam:GetRole", "iam:TagRole", "iam:DeleteRolePolicy", "iam:DeleteRole"], roles),
                API_ROLES_REASON,
            ),
        )

    def read_replica_logs(self) -> tuple[Permission, ...]:
        """Why a new version's replica died: its log (SageMaker endpoint or ECS task), one group per API."""
        groups = self._arn("logs", "log-group", log_group("*"), ArnFormat.COLON_RESOURCE_NAME)
        return (
            Permission(
                _allow(["logs:FilterLogEvents", "logs:GetLogEvents"], [groups]),
                "Each API logs to its own group, named per API at run time (axon.names.log_group).",
            ),
        )

    # ---- ECS (compute.platform: ecs): resources of the AxonEcs stack, found by their fixed names -------------

    def read_ecs_config(self) -> tuple[Permission, ...]:
        """``/axon/ecs/config``: where ECS APIs run, read when an ECS API is first touched in a container."""
        parameter = self._arn("ssm", "parameter", ECS_CONFIG_PARAMETER.lstrip("/"))
        return (Permission(_allow(["ssm:GetParameter"], [parameter])),)

    def invoke_ecs_smoke(self) -> tuple[Permission, ...]:
        """The smoke test reaches a new ECS version through AxonEcs's function in the VPC, found by its name."""
        function = self._arn("lambda", "function", ECS_SMOKE_FUNCTION, ArnFormat.COLON_RESOURCE_NAME)
        return (Permission(_allow(["lambda:InvokeFunction"], [function])),)

    def _ecs_services(self) -> str:
        return self._arn("ecs", "service", f"{CLUSTER_NAME}/{AXON_PATTERN}")

    def control_ecs_services(self) -> tuple[Permission, ...]:
        """One task-definition family and one service per version, all named ``axon-<api>-<label>``."""
        services = self._ecs_services()
        families = self._arn("ecs", "task-definition", AXON_PATTERN)
        per_version = (
            "ECS services and task-definition families are created per API and version at run time, all named "
            f"axon-<api>-<label>; services only in cluster {CLUSTER_NAME}."
        )
        # Tasks run as their API's own role (api_roles); the ECS agent pulls and logs as AxonEcs's execution role.
        roles = [
            self._api_roles(),
            self._stack.format_arn(service="iam", region="", resource="role", resource_name=EXECUTION_ROLE_NAME),
        ]
        return (
            Permission(_allow(["ecs:RegisterTaskDefinition"], [families]), per_version),
            Permission(
                _allow(
                    ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices"],
                    [services],
                ),
                per_version,
            ),
            Permission(
                # Tags passed to CreateService and RegisterTaskDefinition need TagResource; nothing else is tagged.
                _allow(
                    ["ecs:TagResource"],
                    [services, families],
                    conditions={"StringEquals": {"ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"]}},
                ),
                per_version,
            ),
            Permission(
                _allow(["ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"], ["*"]),
                "ecs:DeregisterTaskDefinition and ecs:ListTaskDefinitions support no resource-level permissions; "
                "AWS requires Resource '*'. Removal lists only the axon-<api>-<label> family (familyPrefix).",
            ),
            Permission(
                _allow(
                    ["iam:PassRole"],
                    roles,
                    conditions={"StringEquals": {"iam:PassedToService": ECS_TASKS_PRINCIPAL}},
                ),
                API_ROLES_REASON,
            ),
            # A task of the new version that stopped with an error fails the rollout at once (its stop reason and
            # the last lines of its log), instead of after the placement timeout.
            Permission(
                _allow(
                    ["ecs:ListTasks"],
                    ["*"],
                    conditions={"ArnEquals": {"ecs:cluster": self._arn("ecs", "cluster", CLUSTER_NAME)}},
                ),
                "ecs:ListTasks has no resource type; the condition keeps it to the axon cluster.",
            ),
            Permission(_allow(["ecs:DescribeTasks"], [self._arn("ecs", "task", f"{CLUSTER_NAME}/*")]), per_version),
            Permission(
                _allow(["ecs:DescribeTaskDefinition"], ["*"]),
                "ecs:DescribeTaskDefinition supports no resource-level permissions; AWS requires Resource '*'. It "
                "reads where a stopped task of an axon-<api>-<label> family logged.",
            ),
        )

    def control_listener(self) -> tuple[Permission, ...]:
        """Per-version target groups, and the API's rules on the listener of AxonEcs's load balancer."""
        target_groups = self._arn("elasticloadbalancing", "targetgroup", f"{TARGET_GROUP_PATTERN}/*")
        listeners = self._arn("elasticloadbalancing", "listener", f"app/{LOAD_BALANCER_NAME}/*")
        rules = self._arn("elasticloadbalancing", "listener-rule", f"app/{LOAD_BALANCER_NAME}/*")
        return (
            Permission(
                _allow(
                    [
                        "elasticloadbalancing:CreateTargetGroup",
                        "elasticloadbalancing:DeleteTargetGroup",
                        "elasticloadbalancing:ModifyTargetGroupAttributes",
                        "elasticloadbalancing:AddTags",
                    ],
                    [target_groups],
                ),
                "Target groups are created per API and version at run time, named ax-<api>-<label>-<hash> "
                "(32-character limit); their tags hold the rollout's bake clock and smoke-test verdict.",
            ),
            Permission(
                _allow(["elasticloadbalancing:CreateRule"], [listeners]),
                f"Listener and load balancer ids are generated by AxonEcs; only the listeners of its load balancer "
                f"{LOAD_BALANCER_NAME}, without a cross-stack reference.",
            ),
            Permission(
                _allow(
                    [
                        "elasticloadbalancing:ModifyRule",
                        "elasticloadbalancing:DeleteRule",
                        "elasticloadbalancing:AddTags",
                    ],
                    [rules],
                ),
                f"Each API's rules are created at run time on the listener of load balancer {LOAD_BALANCER_NAME}; "
                "rule ids are generated by ELB.",
            ),
            self._describe_listener(
                "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"
            ),
        )

    @staticmethod
    def _describe_listener(*extra: str) -> Permission:
        return Permission(
            _allow(["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags", *extra], ["*"]),
            "Elastic Load Balancing Describe* actions support no resource-level permissions; AWS requires "
            "Resource '*'. They only read.",
        )

    def scale_ecs_services(self) -> tuple[Permission, ...]:
        """The autoscaler finds the live service through the API's rule and sets its desired count."""
        return (
            Permission(
                _allow(["ecs:DescribeServices", "ecs:UpdateService"], [self._ecs_services()]),
                f"The autoscaler scales every live ECS API's service; all are named axon-<api>-<label>, created at "
                f"run time in cluster {CLUSTER_NAME}.",
            ),
            self._describe_listener(),
        )

    def scale_endpoints(self) -> tuple[Permission, ...]:
        return (
            Permission(
                _allow(
                    ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                    [self._arn("sagemaker", "endpoint", AXON_PATTERN)],
                ),
                "The autoscaler scales every live API's endpoint; they are all named axon-<api>, created at run time.",
            ),
            Permission(
                _allow(["cloudwatch:GetMetricData"], ["*"]),
                "cloudwatch:GetMetricData supports no resource-level permissions; AWS requires Resource '*'.",
            ),
        )

    def _alarms(self, *actions: str) -> Permission:
        return Permission(
            _allow(list(actions), [self._arn("cloudwatch", "alarm", AXON_PATTERN, ArnFormat.COLON_RESOURCE_NAME)]),
            "Per-API rollback alarms are named axon-<api>-<kind> and created at run time; platform alarms are "
            "named AxonPlatform-* so this pattern cannot touch them.",
        )

    def watch_executions(self) -> tuple[Permission, ...]:
        """The reconciler asks whether a lease's execution still runs."""
        executions = self._arn("states", "execution", f"{STATE_MACHINE}:*", ArnFormat.COLON_RESOURCE_NAME)
        return (
            Permission(
                _allow(["states:DescribeExecution"], [executions]),
                "Execution names are derived from each upload at run time; this is the rollout machine's executions.",
            ),
        )

    def list_uploads(self) -> tuple[Permission, ...]:
        """The reconciler lists recent object versions under apis/ to register uploads whose event was missed."""
        return (
            Permission(
                _allow(
                    ["s3:ListBucketVersions"],
                    [self._r.bucket.bucket_arn],
                    {"StringLike": {"s3:prefix": [BUNDLES]}},
                )
            ),
        )

    def start_rollouts(self) -> tuple[Permission, ...]:
        return (Permission(_allow(["states:StartExecution"], [self._r.state_machine_arn])),)

    def notify(self) -> tuple[Permission, ...]:
        return (Permission(_allow(["events:PutEvents"], [self._r.event_bus_arn])),)
