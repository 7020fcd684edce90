"""The resource names that other stacks, local mode and operators rely on: each one's value, stated once here.

Everything else (CDK, Lambdas, local mode, tests) imports these from :mod:`axon.names`; a change to a value below
renames a deployed resource, so it must be deliberate.
"""

from __future__ import annotations

import fnmatch

from axon import names
from axon.platforms.ecs import listener as ecs_listener


def test_axon_ecs_shared_resource_names() -> None:
    assert (names.ECS_CLUSTER, names.ECS_LOAD_BALANCER) == ("axon", "axon")
    assert (names.ECS_TASK_ROLE, names.ECS_EXECUTION_ROLE) == ("axon-ecs-task", "axon-ecs-execution")
    assert (names.ECS_ALB_SECURITY_GROUP, names.ECS_TASK_SECURITY_GROUP) == ("axon-alb", "axon-tasks")
    assert names.capacity_provider_name("g5.xlarge") == "axon-g5-xlarge"
    assert names.capacity_provider_name("g6.2xlarge") == "axon-g6-2xlarge"


def test_target_groups_start_with_the_short_prefix() -> None:
    assert names.TARGET_GROUP_PREFIX == "ax-"
    assert fnmatch.fnmatchcase(ecs_listener.target_group_name("iris", "v3"), f"{names.TARGET_GROUP_PREFIX}*")


def test_bundle_keys() -> None:
    assert names.VERSIONS_PREFIX == "versions/"
    assert names.immutable_bundle_key("iris", "v1") == "versions/iris/v1/bundle.tar.gz"
    assert names.bundle_key("iris") == "apis/iris/bundle.tar.gz"


def test_cloudwatch_and_eventbridge_names() -> None:
    assert names.AUTOSCALER_METRIC_NAMESPACE == "Axon/Autoscaler"
    assert (names.DASHBOARD, names.PLATFORM_ALARM_PREFIX) == ("axon", "AxonPlatform-")
    assert names.EVENT_BUS == "default"
