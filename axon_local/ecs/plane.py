"""ECS under ``axon local up``: the AxonEcs resources in moto, the agent that runs services, the local ALB.

:meth:`LocalEcs.start` creates the local counterpart of the ``AxonEcs`` stack (:mod:`axon_local.ecs.world`) with
``/axon/ecs/config`` pointing at the front door, so the unchanged ``axon.platforms.ecs`` rolls ``compute.platform:
ecs`` APIs out through the same workflow; the agent (:mod:`axon_local.ecs.agent`) runs their services as
``axon-serve`` processes; the front door serves ``/apis/<api>/...`` through the local ALB
(:mod:`axon_local.ecs.alb`); ``Axon/InFlight`` is published per API, so the real autoscaler sets
``desiredCount``; and the ``AWS/SQS`` backlog of every ECS async API's queue is published as SQS would
(:mod:`axon_local.ecs.queue_metrics`). An async API's services run ``axon-serve`` in worker mode against the local
SQS, S3 and SNS (the task definition's environment names the queue and topics; the replicas reach moto through
``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from axon import aws
from axon.platforms.ecs.config import EcsConfig
from axon_local import images
from axon_local.dataplane.bundles import BundleCache
from axon_local.dataplane.fleet import FleetTimeouts, LocalFleet, ServeCommand, axon_serve_command
from axon_local.dataplane.publisher import InFlightPublisher
from axon_local.dataplane.router import Router
from axon_local.dataplane.stats import StatsBook
from axon_local.ecs.agent import EcsAgent
from axon_local.ecs.alb import LocalAlb
from axon_local.ecs.queue_metrics import QueueMetricsPublisher
from axon_local.ecs.world import provision_ecs


class Door(Protocol):
    """What ECS needs of the front door: its URL, its statistics (``axon get``) and a place for the ALB."""

    url: str
    port: int
    stats: StatsBook

    def attach_alb(self, alb: LocalAlb) -> None: ...


@dataclass(frozen=True)
class EcsOptions:
    cache_dir: Path = field(default_factory=images.default_cache_dir)  # bundles, image environments, replica logs
    timeouts: FleetTimeouts = field(default_factory=FleetTimeouts)
    serve_command: ServeCommand = axon_serve_command
    poll_seconds: float = 0.5  # how soon a change in moto (desiredCount, weights) reaches the processes
    retry_window_seconds: float = 10.0


class LocalEcs:
    """The running ECS emulation; :meth:`close` drains and stops every replica it started."""

    def __init__(
        self,
        config: EcsConfig,
        agent: EcsAgent,
        publisher: InFlightPublisher,
        queues: QueueMetricsPublisher | None = None,
    ) -> None:
        self.config = config
        self.agent = agent
        self._publisher = publisher
        self._queues = queues  # AWS/SQS backlog metrics of ECS async APIs' queues (moto publishes none)

    @classmethod
    def start(cls, door: Door, client: Callable[..., Any], options: EcsOptions | None = None) -> LocalEcs:
        """Provision the ECS world through ``client`` (boto3 factory), then run the agent and attach the ALB."""
        options = options or EcsOptions()
        region = aws.region()
        config = provision_ecs(client, door.url, region)
        # Clients made once, aimed at the door explicitly: in-process Lambdas change os.environ on other threads.
        local = {"endpoint_url": door.url, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        router = Router(door.stats)  # shared statistics: `axon get` reads ECS APIs where it reads SageMaker's
        cache = options.cache_dir
        fleet = LocalFleet(
            router,
            BundleCache(client("s3", **local), cache / "bundles"),
            lambda image: images.python_for_image(image, cache_dir=cache),
            cache / "logs",  # shipped to names.log_group(api), the task definition's awslogs group
            command=options.serve_command,
            timeouts=options.timeouts,
        )
        agent = EcsAgent(
            config,
            fleet,
            router,
            client("ecs", **local),
            client("elbv2", **local),
            client("logs", **local),
            region=region,
            poll_seconds=options.poll_seconds,
        )
        publisher = InFlightPublisher(router, client("cloudwatch", **local))
        queues = QueueMetricsPublisher(client("sqs", **local), client("cloudwatch", **local))
        agent.start()
        publisher.start()
        queues.start()
        door.attach_alb(
            LocalAlb(agent.table, agent.refresh, port=door.port, retry_window_seconds=options.retry_window_seconds)
        )
        return cls(config, agent, publisher, queues)

    def pids(self, service: str) -> list[int]:
        """Process ids of an ECS service's running replicas (tests count them)."""
        return self.agent.pids(service)

    def close(self) -> None:
        if self._queues is not None:
            self._queues.close()
        self._publisher.close()
        self.agent.close()
