"""The functional tests' ECS: the local stack's emulator (:mod:`axon_local.ecs`) on moto, with doubles for processes.

:func:`ecs_world` provisions the AxonEcs resources as ``axon local up`` does, runs the local ECS agent inline on
the test's clock each time moto's ECS creates, updates or deletes a service, and serves the local ALB on a
loopback port, where the smoke function ``axon-ecs-smoke`` (run in-process by the moto patches) sends its
requests. The agent's fleet is :class:`FleetDouble`: its replicas start no process, they all answer through one
:class:`ModelDouble`, which records what reached them. What a test does to ECS it does through the emulator: a
full cluster is the agent's task limit, a model that cannot load is a replica that exits with a code and output.
"""

from __future__ import annotations

import contextvars
import itertools
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from moto.ecs.models import EC2ContainerServiceBackend

from axon.platforms.ecs.config import EcsConfig
from axon_local.dataplane.process import ReplicaProcess
from axon_local.dataplane.router import Replica, Router
from axon_local.dataplane.stats import StatsBook
from axon_local.ecs import EcsAgent, LocalAlb, provision_ecs
from axon_local.sagemaker.ports import FleetShare, ReplicaExitedError, VariantSpec

REGION = "us-east-1"


@dataclass
class ModelDouble:
    """What every replica answers: ``status`` and ``body``; ``requests`` holds (path, headers, body) as they came."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    requests: list[tuple[str, Message, bytes]] = field(default_factory=list)
    url: str = ""
    port: int = 0

    @contextmanager
    def serve(self) -> Iterator[ModelDouble]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                model.requests.append((self.path, self.headers, self.rfile.read(length)))
                self.send_response(model.status)
                self.send_header("Content-Length", str(len(model.body)))
                self.end_headers()
                self.wfile.write(model.body)

            def log_message(self, *args: Any) -> None:
                """Quiet: tests read ``requests`` instead."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.port = int(server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


class ReplicaDouble(ReplicaProcess):
    """A replica that runs no process: it answers on the model double's port until :meth:`exit`."""

    def __init__(self, port: int, log_path: Path) -> None:  # nothing to start: ReplicaProcess.__init__ is skipped
        self.port, self.log_path = port, log_path
        self.code: int | None = None

    def exit_code(self) -> int | None:
        return self.code

    def exit(self, code: int, lines: Sequence[str]) -> None:
        self.log_path.write_text("".join(f"{line}\n" for line in lines))
        self.code = code


class FleetDouble:
    """The agent's fleet without processes; what a service's replicas do is set by the service's name."""

    def __init__(self, router: Router, model: ModelDouble, log_dir: Path) -> None:
        self.router, self.model, self.log_dir = router, model, log_dir
        self.crashes: dict[str, tuple[int, Sequence[str]]] = {}  # service -> (exit code, output) of its replicas
        self._endpoints: dict[str, str] = {}  # fleet id -> endpoint
        self._serial = itertools.count()

    def launch(self, endpoint: str, fleet_id: str, variants: Sequence[VariantSpec]) -> None:
        self._endpoints[fleet_id] = endpoint
        for spec in variants:
            self.router.add_replicas(fleet_id, spec.name, self._start(fleet_id, spec.name, spec.instance_count))

    def route(self, endpoint: str, shares: Sequence[FleetShare]) -> None:
        self.router.set_routes(endpoint, shares)

    def scale(self, fleet_id: str, variant: str, count: int) -> None:
        replicas = self.router.replicas(fleet_id, variant)
        live = [r for r in replicas if r.process.exit_code() is None]
        self.router.drain([r for r in replicas if r not in live[:count]], 0.0)
        if count > len(live):
            self.router.add_replicas(fleet_id, variant, self._start(fleet_id, variant, count - len(live)))

    def unhealthy(self, fleet_id: str) -> str | None:
        codes = [r.process.exit_code() for r in self.router.replicas(fleet_id)]
        return next((f"a replica exited with code {code}" for code in codes if code is not None), None)

    def terminate(self, fleet_id: str) -> None:
        self.router.remove_fleet(fleet_id)

    def close(self) -> None:
        """Nothing waits for a replica to start."""

    def crash(self, service: str, exit_code: int, lines: Sequence[str]) -> None:
        """Replicas of ``service`` exit ``exit_code`` after printing ``lines``: those running and every later one."""
        self.crashes[service] = (exit_code, lines)
        for fleet_id in self._endpoints:
            if _service(fleet_id) == service:
                for replica in self.router.replicas(fleet_id):
                    replica.process.exit(exit_code, lines)  # type: ignore[attr-defined]

    def running(self) -> int:
        return sum(r.process.exit_code() is None for f in self._endpoints for r in self.router.replicas(f))

    def _start(self, fleet_id: str, variant: str, count: int) -> list[Replica]:
        service = _service(fleet_id)
        port = self.model.port
        started = [ReplicaDouble(port, self.log_dir / f"{next(self._serial)}.log") for _ in range(count)]
        if service in self.crashes and started:
            code, lines = self.crashes[service]
            started[0].exit(code, lines)
            raise ReplicaExitedError(f"a replica of {service} exited with code {code}", code, started[0].log_path)
        return [Replica(self._endpoints[fleet_id], variant, replica) for replica in started]


def _service(fleet_id: str) -> str:
    """The service's name in the agent's fleet id (``<service ARN>#<serial>``)."""
    return fleet_id.split("#", 1)[0].rsplit("/", 1)[-1]


class InlineExecutor(Executor):
    """The agent's per-service work, run at once on the calling thread: the test sees its outcome right away."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


@dataclass
class EcsWorld:
    config: EcsConfig
    agent: EcsAgent
    fleet: FleetDouble
    model: ModelDouble
    client: Callable[[str], Any]

    def fill(self) -> None:
        """No free GPU: the cluster places no task beyond those running now."""
        self.agent.max_tasks = self.fleet.running()

    def grow(self) -> None:
        """The capacity provider launched instances: every pending task gets placed."""
        self.agent.max_tasks = None
        self.agent.sync()

    def crash(self, service: str, exit_code: int, log_lines: Sequence[str]) -> str:
        """The tasks of ``service`` exit ``exit_code`` after printing ``log_lines`` (a model that cannot load:
        ECS's replacements fail the same way). Returns the id of the first task ECS stopped."""
        self.fleet.crash(service, exit_code, log_lines)
        self.agent.sync()
        ecs = self.client("ecs")
        (described,) = ecs.describe_services(cluster=self.config.cluster, services=[service])["services"]
        family = described["taskDefinition"].rsplit("/", 1)[-1].split(":")[0]
        arns = ecs.list_tasks(cluster=self.config.cluster, family=family, desiredStatus="STOPPED")["taskArns"]
        return str(arns[0].rsplit("/", 1)[-1])

    def lose_targets(self, service: str) -> None:
        """The service's tasks run but fail their health checks: the ALB takes their targets out."""
        elbv2 = self.client("elbv2")
        (described,) = self.client("ecs").describe_services(cluster=self.config.cluster, services=[service])["services"]
        for group in described["loadBalancers"]:
            health = elbv2.describe_target_health(TargetGroupArn=group["targetGroupArn"])
            targets = [t["Target"] for t in health["TargetHealthDescriptions"]]
            elbv2.deregister_targets(TargetGroupArn=group["targetGroupArn"], Targets=targets)


@contextmanager
def ecs_world(
    client: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    placement_timeout_seconds: int,
    clock: Callable[[], float] = time.time,
) -> Iterator[EcsWorld]:
    """The AxonEcs stack in moto (one instance type, g5.xlarge), its agent on ``clock`` and its ALB (module doc)."""
    alb_socket = socket.create_server(("127.0.0.1", 0))
    port = int(alb_socket.getsockname()[1])
    config = provision_ecs(
        client,
        f"http://127.0.0.1:{port}",
        REGION,
        instance_types=("g5.xlarge",),
        placement_timeout_seconds=placement_timeout_seconds,
    )
    router = Router(StatsBook())
    with tempfile.TemporaryDirectory() as logs, ModelDouble().serve() as model:
        fleet = FleetDouble(router, model, Path(logs))
        agent = EcsAgent(
            config,
            fleet,
            router,
            client("ecs"),
            client("elbv2"),
            client("logs"),
            region=REGION,
            clock=clock,
            executor=InlineExecutor(),
        )
        for name in ("create_service", "update_service", "delete_service"):
            monkeypatch.setattr(
                EC2ContainerServiceBackend, name, _then_sync(getattr(EC2ContainerServiceBackend, name), agent)
            )
        alb = LocalAlb(agent.table, agent.refresh, port=port, retry_window_seconds=0)
        server = uvicorn.Server(uvicorn.Config(alb, lifespan="off", log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [alb_socket]}, daemon=True)
        thread.start()
        try:
            yield EcsWorld(config, agent, fleet, model, client)
        finally:
            server.should_exit = True
            thread.join()
            alb_socket.close()
            agent.close()


def _then_sync(change: Callable[..., Any], agent: EcsAgent) -> Callable[..., Any]:
    """A moto ECS call that changes a service, followed by one poll of the agent (as if it had just polled). The
    poll runs in a context of its own: its calls are ECS's, not those of the Lambda whose call it follows (which a
    harness may record, keyed on the in-process runtime's context variable)."""

    def changed(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        result = change(backend, *args, **kwargs)
        contextvars.Context().run(agent.sync)
        return result

    return changed
