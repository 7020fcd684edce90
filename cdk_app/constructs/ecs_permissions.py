"""What the control plane may do on the ECS platform (``compute.platform: ecs``): the AxonEcs stack's resources,
found by their fixed names (no cross-stack references), each statement scoped to axon's own names."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack

from axon.names import (
    API_ROLE_PATH,
    ASYNC_QUEUE_PATTERN,
    ECS_CLUSTER,
    ECS_EXECUTION_ROLE,
    ECS_LOAD_BALANCER,
    ECS_SMOKE_FUNCTION,
    TARGET_GROUP_PREFIX,
    api_role_name,
    endpoint_name,
)
from axon.platforms.api_roles import ECS_TASKS_PRINCIPAL
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER
from cdk_app.nag import Permission, allow

AXON_PATTERN = endpoint_name("*")  # axon-*: every per-API resource name starts so
# axon.platforms.ecs.listener.target_group_name: "ax-<api>-<label>-<hash>" (target group names stop at 32 characters).
TARGET_GROUP_PATTERN = f"{TARGET_GROUP_PREFIX}*"
QUEUES_REASON = (
    "Each ECS async API's SQS queue and dead-letter queue are named axon-<api>-async[-dlq], created at run time "
    "(axon.platforms.ecs.queue); nothing else matches this pattern."
)
API_ROLES_REASON = (
    "Each API's replicas run as their own role /axon/api/axon-api-<api>, created at its first rollout "
    "(axon.platforms.api_roles); only roles under that path, always with axon's permissions boundary."
)


class EcsAccess:
    """The ECS permission sets; :class:`cdk_app.constructs.permissions.ControlPlaneAccess` composes them."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def _arn(self, service: str, resource: str, name: str, fmt: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME) -> str:
        return self._stack.format_arn(service=service, resource=resource, resource_name=name, arn_format=fmt)

    def _api_roles(self) -> str:
        """``role/axon/api/axon-api-*``: the per-API roles, and nothing else in the account."""
        return self._stack.format_arn(
            service="iam", region="", resource="role", resource_name=f"{API_ROLE_PATH.strip('/')}/{api_role_name('*')}"
        )

    def read_ecs_config(self) -> tuple[Permission, ...]:
        """``/axon/ecs/config``: where ECS APIs run, read when an ECS API is first touched in a container."""
        parameter = self._arn("ssm", "parameter", ECS_CONFIG_PARAMETER.lstrip("/"))
        return (Permission(allow(["ssm:GetParameter"], [parameter])),)

    def invoke_ecs_smoke(self) -> tuple[Permission, ...]:
        """The smoke test reaches a new ECS version through AxonEcs's function in the VPC, found by its name."""
        function = self._arn("lambda", "function", ECS_SMOKE_FUNCTION, ArnFormat.COLON_RESOURCE_NAME)
        return (Permission(allow(["lambda:InvokeFunction"], [function])),)

    def _queues(self) -> str:
        """``axon-*-async*``: every ECS async API's queue and its dead-letter queue, nothing else."""
        return self._stack.format_arn(service="sqs", resource=ASYNC_QUEUE_PATTERN)

    def read_queue_owner(self) -> Permission:
        """Which version owns an async API's queue (its ``axon:live`` tag): the API's capacity on ECS."""
        return Permission(allow(["sqs:GetQueueUrl", "sqs:ListQueueTags"], [self._queues()]), QUEUES_REASON)

    def _ecs_services(self) -> str:
        return self._arn("ecs", "service", f"{ECS_CLUSTER}/{AXON_PATTERN}")

    def control_ecs_services(self) -> tuple[Permission, ...]:
        """One task-definition family and one service per version, all named ``axon-<api>-<label>``."""
        services = self._ecs_services()
        families = self._arn("ecs", "task-definition", AXON_PATTERN)
        per_version = (
            "ECS services and task-definition families are created per API and version at run time, all named "
            f"axon-<api>-<label>; services only in cluster {ECS_CLUSTER}."
        )
        # Tasks run as their API's own role (api_roles); the ECS agent pulls and logs as AxonEcs's execution role.
        roles = [
            self._api_roles(),
            self._stack.format_arn(service="iam", region="", resource="role", resource_name=ECS_EXECUTION_ROLE),
        ]
        return (
            Permission(allow(["ecs:RegisterTaskDefinition"], [families]), per_version),
            Permission(
                allow(
                    ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices"],
                    [services],
                ),
                per_version,
            ),
            Permission(
                # Tags passed to CreateService and RegisterTaskDefinition need TagResource; nothing else is tagged.
                allow(
                    ["ecs:TagResource"],
                    [services, families],
                    conditions={"StringEquals": {"ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"]}},
                ),
                per_version,
            ),
            Permission(
                allow(["ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"], ["*"]),
                "ecs:DeregisterTaskDefinition and ecs:ListTaskDefinitions support no resource-level permissions; "
                "AWS requires Resource '*'. Removal lists only the axon-<api>-<label> family (familyPrefix).",
            ),
            Permission(
                allow(
                    ["iam:PassRole"],
                    roles,
                    conditions={"StringEquals": {"iam:PassedToService": ECS_TASKS_PRINCIPAL}},
                ),
                API_ROLES_REASON,
            ),
            # A task of the new version that stopped with an error fails the rollout at once (its stop reason and
            # the last lines of its log), instead of after the placement timeout.
            Permission(
                allow(
                    ["ecs:ListTasks"],
                    ["*"],
                    conditions={"ArnEquals": {"ecs:cluster": self._arn("ecs", "cluster", ECS_CLUSTER)}},
                ),
                "ecs:ListTasks has no resource type; the condition keeps it to the axon cluster.",
            ),
            Permission(allow(["ecs:DescribeTasks"], [self._arn("ecs", "task", f"{ECS_CLUSTER}/*")]), per_version),
            # An async API's queue: made (tagged) at its rollout, its attributes kept, its tags holding the
            # rollout's step and the live version. Only axon delete (the CLI) deletes it.
            Permission(
                allow(
                    [
                        "sqs:CreateQueue",
                        "sqs:GetQueueUrl",
                        "sqs:GetQueueAttributes",
                        "sqs:SetQueueAttributes",
                        "sqs:TagQueue",
                        "sqs:UntagQueue",
                        "sqs:ListQueueTags",
                    ],
                    [self._queues()],
                ),
                QUEUES_REASON,
            ),
            Permission(
                allow(["ecs:DescribeTaskDefinition"], ["*"]),
                "ecs:DescribeTaskDefinition supports no resource-level permissions; AWS requires Resource '*'. It "
                "reads where a stopped task of an axon-<api>-<label> family logged.",
            ),
        )

    def control_listener(self) -> tuple[Permission, ...]:
        """Per-version target groups, and the API's rules on the listener of AxonEcs's load balancer."""
        target_groups = self._arn("elasticloadbalancing", "targetgroup", f"{TARGET_GROUP_PATTERN}/*")
        listeners = self._arn("elasticloadbalancing", "listener", f"app/{ECS_LOAD_BALANCER}/*")
        rules = self._arn("elasticloadbalancing", "listener-rule", f"app/{ECS_LOAD_BALANCER}/*")
        return (
            Permission(
                allow(
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
                allow(["elasticloadbalancing:CreateRule"], [listeners]),
                f"Listener and load balancer ids are generated by AxonEcs; only the listeners of its load balancer "
                f"{ECS_LOAD_BALANCER}, without a cross-stack reference.",
            ),
            Permission(
                allow(
                    [
                        "elasticloadbalancing:ModifyRule",
                        "elasticloadbalancing:DeleteRule",
                        "elasticloadbalancing:AddTags",
                    ],
                    [rules],
                ),
                f"Each API's rules are created at run time on the listener of load balancer {ECS_LOAD_BALANCER}; "
                "rule ids are generated by ELB.",
            ),
            self._describe_listener(
                "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"
            ),
        )

    @staticmethod
    def _describe_listener(*extra: str) -> Permission:
        return Permission(
            allow(["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags", *extra], ["*"]),
            "Elastic Load Balancing Describe* actions support no resource-level permissions; AWS requires "
            "Resource '*'. They only read.",
        )

    def scale_ecs_services(self) -> tuple[Permission, ...]:
        """The autoscaler finds the live service through the API's rule and sets its desired count."""
        return (
            Permission(
                allow(["ecs:DescribeServices", "ecs:UpdateService"], [self._ecs_services()]),
                f"The autoscaler scales every live ECS API's service; all are named axon-<api>-<label>, created at "
                f"run time in cluster {ECS_CLUSTER}.",
            ),
            self._describe_listener(),
            self.read_queue_owner(),
        )
