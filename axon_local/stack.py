"""``axon local up``: the whole platform on one machine, one port, no Docker, no AWS.

One process serves every AWS API axon uses on ``http://127.0.0.1:<port>`` (moto for S3, DynamoDB, Step
Functions, EventBridge, CloudWatch, ECR, CodeBuild, IAM, Lambda, Logs; the local SageMaker and its data plane for
SageMaker and sagemaker-runtime), installs the documented moto patches (handlers run in-process, EventBridge
delivers, builds become local environments), creates the control plane from the same sources of truth as the CDK
app, and fires the autoscaler's schedule every ``tick_seconds``. ``compute.platform: ecs`` APIs run too: the
``AxonEcs`` resources are created in moto (EC2, ELBv2, ECS, Auto Scaling, SSM) and :mod:`axon_local.ecs` runs
their services and serves ``/apis/<api>/...`` on the same port.

The port answers nothing until all of that exists (requests are held, then answered): a script that uploads as soon
as the bucket answers must not have its upload accepted before the rule and the workflow that roll it out.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
from moto.moto_api._internal.models import moto_api_backend

from axon import aws, names
from axon.deps import default_deps
from axon.settings import get_settings
from axon_local import images, trust
from axon_local.builds import local_image_builder
from axon_local.dataplane.fleet import FleetTimeouts
from axon_local.ecs import EcsOptions, LocalEcs
from axon_local.frontdoor import FrontDoor, FrontDoorOptions, serve
from axon_local.logs import LogShipper
from axon_local.patches import PatchOptions, fire_schedules, install, uninstall
from axon_local.provision import Provisioned, provision

logger = logging.getLogger(__name__)
# moto's Step Functions interpreter logs every Fail state at ERROR; a refused bundle ends in one by design, and
# its reason is in the registry, so the terminal stays quiet.
_INTERPRETER_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class LocalOptions:
    port: int = names.LOCAL_PORT
    tick_seconds: float = 60.0  # the autoscaler's schedule: rate(1 minute), as on AWS
    wait_scale: float = 1.0  # Step Functions Wait states last seconds * wait_scale (polls every 15 s at 1.0)
    time_scale: float = 1.0  # >1 shortens SageMaker's bake and termination waits by that factor
    cache_dir: Path = field(default_factory=images.default_cache_dir)
    ping_timeout_seconds: float = FleetTimeouts().ping_seconds  # a new replica's time to pass /ping
    ready_hold_seconds: float = 60.0  # a request made while the stack is provisioned waits this long, then 503


class LocalStack:
    """A running local platform; :meth:`close` stops everything it started, replica processes included."""

    def __init__(self, options: LocalOptions) -> None:
        self.options = options
        self._door: FrontDoor | None = None
        self._shipper: LogShipper | None = None
        self.ecs: LocalEcs | None = None
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_forever, daemon=True, name="axon-schedule")
        self.provisioned: Provisioned | None = None

    @property
    def url(self) -> str:
        assert self._door is not None, "the stack is not started"
        return self._door.url

    @property
    def door(self) -> FrontDoor:
        assert self._door is not None, "the stack is not started"
        return self._door

    def environment(self) -> dict[str, str]:
        """What a client needs: ``export`` these and boto3, the AWS CLI and ``axon`` talk to this stack.

        ``axon`` switches to the local stack on ``AXON_ENDPOINT_URL`` only (its ``--endpoint-url``); boto3 and the
        AWS CLI follow ``AWS_ENDPOINT_URL``.
        """
        return {
            names.LOCAL_ENDPOINT_ENV: self.url,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": names.DEFAULT_REGION,
            **LOCAL_CREDENTIALS,
        }

    def start(self) -> LocalStack:
        """Serve a fresh local account: moto's backends are process-wide, so they start (and end) empty."""
        options = self.options
        moto_api_backend.reset()
        logging.getLogger(_INTERPRETER_LOGGER).setLevel(logging.CRITICAL)
        for name, value in {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": names.DEFAULT_REGION}.items():
            os.environ.setdefault(name, value)
        self._door = serve(
            options.port,
            FrontDoorOptions(
                time_scale=options.time_scale,
                cache_dir=options.cache_dir,
                timeouts=FleetTimeouts(ping_seconds=options.ping_timeout_seconds),
                ready_hold_seconds=options.ready_hold_seconds,
            ),
        )
        try:
            os.environ.update(self.environment())
            get_settings.cache_clear()
            default_deps.cache_clear()
            # Provisioning goes through the door's control port: the public one holds requests until it is done.
            control = self.door.control_url
            own_client = partial(aws.client, endpoint_url=control)
            httpx.post(
                f"{control}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=30
            ).raise_for_status()
            install(
                PatchOptions(
                    wait_scale=options.wait_scale,
                    lambda_environment=self.environment(),
                    image_builder=local_image_builder(aws.client, options.cache_dir),
                    synchronous_builds=False,
                    lambda_handlers=trust.provisioned_handlers(),  # axon's own functions, nothing else
                )
            )
            self.provisioned = provision(own_client)
            self.ecs = LocalEcs.start(
                self.door,
                own_client,
                EcsOptions(
                    cache_dir=options.cache_dir,
                    timeouts=FleetTimeouts(ping_seconds=options.ping_timeout_seconds),
                ),
            )
            self._shipper = LogShipper(options.cache_dir / "logs", aws.client("logs"))
            self._shipper.start()
            self._ticker.start()
            self.door.set_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _tick_forever(self) -> None:
        while not self._stop.wait(self.options.tick_seconds):
            try:
                fire_schedules()
            except Exception:
                logger.exception("the schedules (autoscaler, reconciler) could not fire")

    def tick(self) -> int:
        """Fire the schedules now (tests and the demo use it instead of waiting a minute)."""
        return fire_schedules()

    def close(self) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(timeout=10)
        if self.ecs is not None:
            self.ecs.close()  # drains and stops every ECS replica while the door still answers its API calls
        if self._shipper is not None:
            self._shipper.close()
        if self._door is not None:
            self._door.close()  # deletes every endpoint: no replica process is left behind
        uninstall()
        moto_api_backend.reset()
        get_settings.cache_clear()
        default_deps.cache_clear()
