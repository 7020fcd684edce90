"""Test helpers for the ECS platform on moto: the infrastructure AxonEcs creates, and what moto leaves out.

- :func:`provision_ecs` creates in moto what the ``AxonEcs`` stack creates on AWS (VPC, subnets, security group,
  ALB and listener, cluster, task roles) and writes ``/axon/ecs/config`` as the stack does.
- :class:`FakeScheduler` does what ECS's scheduler and agent do on AWS and moto does not: moto's CreateService
  leaves every task pending and registers nothing with the load balancer, so a new service never becomes
  healthy. The scheduler places tasks (``runningCount``) and registers one IP target per task in the service's
  target groups (moto reports registered IP targets healthy). ``room = False`` simulates a cluster without free
  GPUs: tasks stay pending and the service gets the event ECS writes. :meth:`FakeScheduler.crash` is a task whose
  container exited (a model that cannot load): a STOPPED task with its exit code, and its output in the task's
  awslogs stream. These manipulate moto's state only; the product code under test talks to moto through boto3
  as it would to AWS.
- :class:`FrontDoor` stands in for the ALB's data plane: a local HTTP server that the smoke function
  ``axon-ecs-smoke`` (run in-process by the moto patches) reaches, recording every request (moto's ALB has no
  data plane).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends
from moto.elbv2.models import elbv2_backends

from axon import names
from axon.platforms.ecs.config import ECS_CONFIG_PARAMETER, EcsConfig
from axon_local.ecs.tasks import register, stopped_task
from axon_local.ecs.world import create_smoke_function
from axon_local.patches import DEFAULT_ACCOUNT as DEFAULT_ACCOUNT_ID

REGION = "us-east-1"
CLUSTER = names.ECS_CLUSTER
CAPACITY_PROVIDER = names.capacity_provider_name("g5.xlarge")
_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def provision_ecs(client: Callable[[str], Any], url: str, placement_timeout_seconds: int = 1800) -> EcsConfig:
    """The AxonEcs stack's resources in moto, and its SSM parameter; ``url`` is where the ALB answers."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    alb_group = ec2.create_security_group(GroupName=names.ECS_ALB_SECURITY_GROUP, Description="ALB", VpcId=vpc)[
        "GroupId"
    ]
    task_group = ec2.create_security_group(GroupName=names.ECS_TASK_SECURITY_GROUP, Description="tasks", VpcId=vpc)[
        "GroupId"
    ]
    elbv2 = client("elbv2")
    balancer = elbv2.create_load_balancer(Name=names.ECS_LOAD_BALANCER, Subnets=subnets, SecurityGroups=[alb_group])
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    client("ecs").create_cluster(clusterName=CLUSTER)
    iam = client("iam")
    roles = [
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_ASSUME))["Role"]["Arn"]
        for name in (names.ECS_TASK_ROLE, names.ECS_EXECUTION_ROLE)
    ]
    create_smoke_function(client, url)  # AxonEcs's smoke function, aimed at the front door below
    config = EcsConfig(
        cluster=CLUSTER,
        listener_arn=listener["Listeners"][0]["ListenerArn"],
        vpc_id=vpc,
        subnets=tuple(subnets),
        security_groups=(task_group,),
        task_role_arn=roles[0],
        execution_role_arn=roles[1],
        capacity_providers={"g5.xlarge": CAPACITY_PROVIDER},
        url=url,
        placement_timeout_seconds=placement_timeout_seconds,
    )
    client("ssm").put_parameter(Name=ECS_CONFIG_PARAMETER, Type="String", Value=config.model_dump_json())
    return config


class FakeScheduler:
    """Places ECS tasks in moto as ECS would on AWS (see the module docstring); install with :meth:`install`."""

    UNABLE_TO_PLACE = (
        "(service {name}) was unable to place a task because no container instance met all of its requirements. "
        "Reason: No Container Instances were found in your capacity provider."
    )

    def __init__(self) -> None:
        self.room = True
        # Stamp new services' deployments this much in the past: "ECS has been at it for so long" (placement timeout).
        self.backdate = timedelta(0)
        self._addresses = (f"10.0.{n // 250 + 1}.{n % 250 + 4}" for n in itertools.count())

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeScheduler:
        create, update = EC2ContainerServiceBackend.create_service, EC2ContainerServiceBackend.update_service

        def create_service(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
            service = create(backend, *args, **kwargs)
            deployments: list[dict[str, Any]] = service.deployments
            for deployment in deployments:
                deployment["createdAt"] -= self.backdate
            return self._place(service)

        def update_service(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
            return self._place(update(backend, *args, **kwargs))

        monkeypatch.setattr(EC2ContainerServiceBackend, "create_service", create_service)
        monkeypatch.setattr(EC2ContainerServiceBackend, "update_service", update_service)
        return self

    def grow(self) -> None:
        """The capacity provider launched instances: every pending task gets placed."""
        self.room = True
        for service in self._services():
            self._place(service)

    def service(self, name: str) -> Any:
        """moto's model of service ``name`` (for tests that change what ECS would report)."""
        return next(s for s in self._services() if s.name == name)

    def fail_deployment(self, name: str, reason: str) -> None:
        """What the deployment circuit breaker does when tasks keep failing to start."""
        deployment = self.service(name).deployments[0]
        deployment["rolloutState"], deployment["rolloutStateReason"] = "FAILED", reason

    def crash(self, name: str, exit_code: int, log_lines: Sequence[str]) -> str:
        """A task of service ``name`` exited with ``exit_code`` before it was healthy: ECS keeps it STOPPED, the
        awslogs driver shipped ``log_lines``, and the service has no running task. Returns the task id."""
        backend = ecs_backends[DEFAULT_ACCOUNT_ID][REGION]
        service = self.service(name)
        task = stopped_task(backend, service, exit_code)
        container: Any = backend.describe_task_definition(service.task_definition).container_definitions[0]
        options = container["logConfiguration"]["options"]
        group, stream = options["awslogs-group"], f"{options['awslogs-stream-prefix']}/{container['name']}/{task.id}"
        logs = boto3.client("logs", region_name=REGION)
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        events: list[Any] = [{"timestamp": int(time.time() * 1000), "message": line} for line in log_lines]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        register(backend, task)
        service.running_count, service.pending_count = 0, service.desired_count
        self.lose_targets(name)
        return str(task.id)

    def lose_targets(self, name: str) -> None:
        """Green's tasks run but fail their health checks: the ALB takes their targets out."""
        for group in self.service(name).load_balancers:
            target_group = _elbv2().target_groups[group["targetGroupArn"]]
            target_group.targets.clear()

    def _services(self) -> list[Any]:
        return [s for s in ecs_backends[DEFAULT_ACCOUNT_ID][REGION].services.values() if s.status == "ACTIVE"]

    def _place(self, service: Any) -> Any:
        placed = service.desired_count if self.room else 0
        service.running_count, service.pending_count = placed, service.desired_count - placed
        for group in service.load_balancers:
            target_group = _elbv2().target_groups.get(group["targetGroupArn"])
            if target_group is None:
                continue
            targets = list(target_group.targets)
            for address in targets[placed:]:
                del target_group.targets[address]
            missing = placed - min(len(targets), placed)
            target_group.register(
                [{"Id": next(self._addresses), "Port": group["containerPort"]} for _ in range(missing)]
            )
        if service.pending_count:
            event = {"id": str(len(service.events)), "createdAt": datetime.now(UTC)}
            service.events.insert(0, {**event, "message": self.UNABLE_TO_PLACE.format(name=service.name)})
        return service


def _elbv2() -> Any:
    return elbv2_backends[DEFAULT_ACCOUNT_ID][REGION]


@dataclass
class FrontDoor:
    """The ALB's data plane for smoke tests: answers ``status``/``body``; ``requests`` holds (path, headers, body)."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def serve(self) -> Iterator[FrontDoor]:
        door = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                door.requests.append((self.path, dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(door.status)
                self.send_header("Content-Length", str(len(door.body)))
                self.end_headers()
                self.wfile.write(door.body)

            def log_message(self, *args: Any) -> None:
                """Quiet: tests read ``requests`` instead."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
