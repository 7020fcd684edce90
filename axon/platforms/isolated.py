"""A Platform that runs every API's replicas as the API's own IAM role (``axon.platforms.api_roles``).

It wraps SageMaker or ECS alike: the role is got-or-created before the platform creates anything that runs as it
(SageMaker model, ECS task definition), and goes with the API (``delete_api``, or the rollback of a first version
that leaves nothing serving). The inner platform puts ``VersionRef.role_arn`` into its requests.
"""

from __future__ import annotations

from dataclasses import replace

from axon.platforms.api_roles import ApiRoles
from axon.platforms.base import Capacity, DeploymentStatus, Platform, ReplicaSet, VersionRef


class IsolatedPlatform(Platform):
    def __init__(self, inner: Platform, roles: ApiRoles) -> None:
        self.inner = inner
        self.roles = roles
        self.name = inner.name

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        is_async = version.spec.kind == "async"
        role_arn = self.roles.ensure(version.api, async_io=is_async, queue=is_async and self.name == "ecs")
        self.inner.deploy(replace(version, role_arn=role_arn), previous)

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        return self.inner.deployment_status(version, previous)

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        self.inner.rollback(version, previous)
        if previous is None:  # a first version: nothing of the API serves any more, so its role goes too
            self.roles.delete(version.api)

    def retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        self.inner.retire(version, previous)

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        return self.inner.smoke_test(version, payload, content_type)

    def remove_version(self, version: VersionRef) -> None:
        self.inner.remove_version(version)

    def capacity(self, api: str) -> Capacity | None:
        return self.inner.capacity(api)

    def replica_sets(self, api: str) -> list[ReplicaSet] | None:
        return self.inner.replica_sets(api)

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        self.inner.set_capacity(api, variant, replicas)

    def delete_api(self, api: str) -> None:
        self.inner.delete_api(api)
        self.roles.delete(api)
