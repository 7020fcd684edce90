"""The local ECS agent: what ECS's scheduler, its container agents and the ALB's target registration do on AWS.

moto's ECS stores services but runs nothing: CreateService leaves every task pending for ever and registers no
target. Every ``poll_seconds`` this agent reads moto's state and makes it true on this machine:

* for every ACTIVE service of the cluster it runs ``desiredCount`` ``axon-serve`` processes (through
  :class:`LocalFleet`) with the task definition's image (its local environment) and environment, on the bundle
  named by ``AXON_BUNDLE_URI`` (downloaded and safely extracted once, as the ECS instance's cache would);
* it writes back what ECS would report: ``runningCount``/``pendingCount``, the deployment's ``rolloutState``
  (``COMPLETED`` at steady state; ``FAILED`` when the deployment circuit breaker trips after repeated failed
  starts), service events; and it registers each replica as an IP target in the service's target groups once it
  passes ``/ping`` (moto then reports it healthy), deregistering it when it stops;
* it replaces a replica that exited, recorded as a STOPPED task with its exit code and its output in the task's
  awslogs stream (:mod:`axon_local.ecs.tasks`), scales with ``desiredCount``, and stops a deleted service;
* it runs no more than ``max_tasks`` tasks (no limit locally): the rest stay pending, with ECS's placement event;
* it mirrors the listener's rules into a :class:`RouteTable` for the local ALB (:mod:`axon_local.ecs.alb`).

Services, their desired counts and identities are read from moto's backend (the object is the service: a service
deleted and re-created under the same name is a new one); task definitions, rules and targets go through boto3,
as ECS's own agent would call the APIs. Writes that have no API (the counts ECS computes) go to the backend.
The fleet, the clock and the executor of each service's work are injected: processes on worker threads in wall
time under ``axon local up``; doubles, inline, on the test's clock in the functional tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.ecs.models import ecs_backends

from axon import names
from axon.platforms.ecs.config import EcsConfig
from axon_local.dataplane.router import Replica, ReplicaState, Router
from axon_local.ecs.alb import RouteMirror, RouteTable
from axon_local.ecs.listener import describe_listener
from axon_local.ecs.services import (
    UNABLE_TO_PLACE,
    AgentFleet,
    AgentService,
    TaskSpec,
    circuit_breaker_threshold,
    primary_deployment,
    read_task_spec,
    settle,
)
from axon_local.ecs.tasks import StoppedTasks, update_targets
from axon_local.ecs.world import task_addresses
from axon_local.patches import DEFAULT_ACCOUNT
from axon_local.sagemaker.ports import FleetError

logger = logging.getLogger(__name__)

_EVENTS_KEPT = 100  # DescribeServices returns the 100 most recent events
_BACKOFF_CAP_SECONDS = 30.0


class EcsAgent:
    def __init__(
        self,
        config: EcsConfig,
        fleet: AgentFleet,
        router: Router,
        ecs: Any,
        elbv2: Any,
        logs: Any,
        *,
        region: str,
        account: str = DEFAULT_ACCOUNT,
        poll_seconds: float = 0.5,
        workers: int = 16,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
    ) -> None:
        self._config = config
        self._fleet = fleet
        self._router = router  # the fleet's router: every replica, routes by the production rules
        self._ecs = ecs
        self._elbv2 = elbv2
        self._region = region
        self._account = account
        self._clock = clock
        self._stopped = StoppedTasks(logs, region=region, account=account, clock=clock)
        self._poll = poll_seconds
        self._pool = executor or ThreadPoolExecutor(workers, thread_name_prefix="axon-ecs")
        self.max_tasks: int | None = None  # the cluster's room: at most this many tasks run at once
        self._services: dict[str, AgentService] = {}
        self._retiring: list[Future[None]] = []  # deleted services being drained and stopped
        self._task_specs: dict[str, TaskSpec] = {}  # task definition ARN -> spec (revisions are immutable)
        self._warned: set[str] = set()  # services already warned about (once each)
        self._routes = RouteMirror(router, fleet)
        self._sync_lock = threading.Lock()  # one poll or refresh at a time: they share the route state
        self._lock = threading.RLock()  # target addresses and moto writes, shared by the workers
        self._addresses: Iterator[str] = task_addresses()
        self._free: list[str] = []
        self._last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="axon-ecs-agent")

    # ---- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop polling, let pending health waits give up, then drain and stop every replica."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._fleet.close()
        settle([s.work for s in self._services.values() if s.work is not None])
        settle([*self._retiring, *(self._pool.submit(self._retire, s) for s in self._services.values())])
        self._services.clear()
        self._pool.shutdown()

    def table(self) -> RouteTable:
        """The routes of the last poll (replaced whole, so a reader never sees half an update)."""
        return self._routes.table

    def pids(self, service: str) -> list[int]:
        """Process ids of the service's running replicas (``[]`` for a service this agent does not run)."""
        found = self._services.get(service)
        return [r.process.pid for r in self._live(found)] if found is not None else []

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.sync()
                self._last_error = ""
            except Exception as error:  # moto busy or a bug: say so once, keep polling
                if str(error) != self._last_error:
                    logger.exception("the local ECS agent could not sync; retrying every %s s", self._poll)
                    self._last_error = str(error)

    # ---- one poll ---------------------------------------------------------------------------------------------

    def refresh(self) -> RouteTable:
        """Mirror the listener's rules now: the ALB asks before it answers a request no rule matched, so a rule
        created a moment ago (an API's first version going live) routes at once rather than after a poll."""
        with self._sync_lock:
            return self._mirror()

    def sync(self) -> None:
        """Reconcile every service with moto's state, retire removed ones, then mirror the listener's rules."""
        with self._sync_lock:
            self._sync()

    def _sync(self) -> None:
        backend = ecs_backends[self._account][self._region]
        active = {
            s.name: s
            for s in dict(backend.services).values()
            if s.cluster_name == self._config.cluster and s.status == "ACTIVE"
        }
        for name, gone in list(self._services.items()):
            if active.get(name) is not gone.model and not gone.busy():
                del self._services[name]
                self._retiring = [f for f in self._retiring if not f.done()]
                self._retiring.append(self._pool.submit(self._retire, gone))
        for name, model in active.items():
            known = self._services.get(name)
            if known is not None and known.model is not model:
                continue  # the previous service of this name is still finishing its work
            service = known or self._adopt(model)
            if service is None:
                continue
            self._services[name] = service
            if model.task_definition != service.task_definition and name not in self._warned:
                self._warned.add(name)
                logger.warning(
                    "service %s now names task definition %s; the local ECS agent keeps running %s (a new axon "
                    "version is a new service, never a new task definition)",
                    name,
                    model.task_definition,
                    service.task_definition,
                )
            if not service.busy():
                service.work = self._pool.submit(self._reconcile, service)
        self._mirror()

    def _mirror(self) -> RouteTable:
        fleets = {group: service.fleet_id for service in self._services.values() for group in service.target_groups}
        return self._routes.mirror(describe_listener(self._elbv2, self._config.listener_arn), fleets)

    def _adopt(self, model: Any) -> AgentService | None:
        """A service seen for the first time: read its task definition (once per revision)."""
        arn = str(model.task_definition)
        task = self._task_specs.get(arn)
        if task is None:
            try:
                described = self._ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            except (ClientError, BotoCoreError) as error:  # read it again on the next poll
                logger.warning("could not read task definition %s of service %s: %s", arn, model.name, error)
                return None
            found = read_task_spec(described)
            if isinstance(found, str):
                if model.name not in self._warned:
                    self._warned.add(model.name)
                    logger.warning("service %s cannot run locally: %s", model.name, found)
                    self._event(model, f"(service {model.name}) cannot run on the local ECS agent: {found}")
                return None
            task = self._task_specs[arn] = found
        # moto stamped the deployment with the wall clock; ECS's clock is this agent's.
        for deployment in model.deployments or []:
            deployment["createdAt"] += timedelta(seconds=self._clock() - time.time())
        fleet_id = f"{model.arn}#{id(model):x}"
        return AgentService(model=model, fleet_id=fleet_id, task_definition=arn, task=task)

    # ---- per service (worker threads) -------------------------------------------------------------------------

    def _live(self, service: AgentService) -> list[Replica]:
        return [
            r
            for r in self._router.replicas(service.fleet_id)
            if r.state is ReplicaState.READY and r.process.exit_code() is None
        ]

    def _reconcile(self, service: AgentService) -> None:
        try:
            self._converge(service)
        except FleetError as error:
            self._stopped.failed_start(service, error)
            self._failed_start(service, str(error))
        except Exception as error:  # spawning failed, or a bug: count it as a failed start, never stop the agent
            logger.exception("the local ECS agent could not run %s", service.name)
            self._failed_start(service, f"the local ECS agent could not start a task: {error}")
        try:
            self._publish(service)
        except Exception:
            logger.exception("the local ECS agent could not report %s", service.name)

    def _converge(self, service: AgentService) -> None:
        """Start, replace or stop replicas until ``desiredCount`` run (blocks while new ones load the model)."""
        model = service.model
        desired = int(model.desired_count)
        if primary_deployment(model).get("rolloutState") == "FAILED" or self._clock() < service.retry_at:
            return  # the circuit breaker stopped this deployment, or a failed start is backing off
        if not service.launched:
            if desired == 0:
                return
            self._publish(service)
            count = self._placeable(service, desired)
            if count == 0:
                return
            spec = replace(service.task.variant, instance_count=count)
            try:
                self._fleet.launch(service.endpoint, service.fleet_id, [spec])
            except BaseException:
                self._fleet.terminate(service.fleet_id)  # forget the half-launched fleet; the next try is clean
                raise
            service.launched = True
            self._event(model, f"(service {service.name}) has started {count} tasks.")
            return
        exited = self._fleet.unhealthy(service.fleet_id)
        if exited is not None:  # ECS replaces a task whose essential container stopped
            self._event(model, f"(service {service.name}) has stopped 1 running task: {exited[:500]}")
            self._stopped.exited(service, self._router.replicas(service.fleet_id))
        before = len(self._live(service))
        if exited is None and before == desired:
            return
        self._publish(service)
        self._fleet.scale(service.fleet_id, names.VARIANT_NAME, self._placeable(service, desired, before))
        after = len(self._live(service))
        if after > before:
            self._event(model, f"(service {service.name}) has started {after - before} tasks.")
        elif after < before:
            self._event(model, f"(service {service.name}) has stopped {before - after} running tasks.")

    def _placeable(self, service: AgentService, desired: int, running: int = 0) -> int:
        """How many of ``desired`` tasks can run, ``running`` of them already; the rest wait for room."""
        if self.max_tasks is None or desired <= running:
            return desired
        busy = sum(len(self._live(s)) for s in list(self._services.values()))
        placeable = running + min(desired - running, max(0, self.max_tasks - busy))
        if placeable < desired:
            self._event(service.model, UNABLE_TO_PLACE.format(name=service.name))
        return placeable

    def _failed_start(self, service: AgentService, reason: str) -> None:
        """Count a failed start; back off before the next; trip the circuit breaker at ECS's threshold."""
        model = service.model
        service.failures += 1
        service.retry_at = self._clock() + min(_BACKOFF_CAP_SECONDS, 2.0 ** (service.failures - 1))
        self._event(model, f"(service {service.name}) failed to start a task: {reason[:800]}")
        deployment = primary_deployment(model)
        deployment["failedTasks"] = int(deployment.get("failedTasks") or 0) + 1
        if service.failures >= circuit_breaker_threshold(int(model.desired_count)):
            deployment["rolloutState"] = "FAILED"
            deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            self._event(
                model,
                f"(service {service.name}) deployment {deployment.get('id')} deployment failed: tasks failed to start.",
            )

    def _publish(self, service: AgentService) -> None:
        """Report the replicas as ECS and the ALB would: counts, steady state, one healthy IP target each."""
        live = self._live(service)
        with self._lock:
            added = {r: self._address() for r in live if r not in service.targets}
            removed = {r: a for r, a in service.targets.items() if r not in live}
        for group in service.target_groups:
            if removed:
                update_targets(self._elbv2.deregister_targets, group, removed.values())
            if added:
                update_targets(self._elbv2.register_targets, group, added.values())
        with self._lock:
            for replica, address in removed.items():
                del service.targets[replica]
                self._free.append(address)
            service.targets.update(added)
            self._counts(service.model, len(live))

    def _counts(self, model: Any, running: int) -> None:
        if model.status != "ACTIVE":
            return
        backend = ecs_backends[self._account][self._region]
        desired = int(model.desired_count)
        pending = max(0, desired - running)
        cluster = backend.clusters.get(model.cluster_name)
        if cluster is not None:  # keep the cluster's task counts in step with its services'
            backend.update_cluster_resources(cluster, running - int(model.running_count), task_state="RUNNING")
            backend.update_cluster_resources(cluster, pending - int(model.pending_count), task_state="PENDING")
        model.running_count, model.pending_count = running, pending
        deployment = primary_deployment(model)
        steady = running == desired and deployment.get("rolloutState") == "IN_PROGRESS"
        deployment.update(desiredCount=desired, runningCount=running, pendingCount=pending)
        if steady:
            deployment["rolloutState"] = "COMPLETED"
            deployment["rolloutStateReason"] = f"ECS deployment {deployment.get('id')} completed."
            deployment["updatedAt"] = datetime.fromtimestamp(self._clock(), UTC)
            self._event(model, f"(service {model.name}) has reached a steady state.")

    def _retire(self, service: AgentService) -> None:
        """A deleted service: drain and stop its replicas, take its targets out, free their addresses."""
        try:
            self._fleet.terminate(service.fleet_id)
        finally:
            with self._lock:
                targets, service.targets = service.targets, {}
                self._free.extend(targets.values())
            for group in service.target_groups:
                update_targets(self._elbv2.deregister_targets, group, targets.values())

    # ---- helpers ----------------------------------------------------------------------------------------------

    def _address(self) -> str:
        """A free task address (caller holds the lock)."""
        if self._free:
            return self._free.pop()
        try:
            return next(self._addresses)
        except StopIteration:
            raise FleetError("the local ECS agent ran out of task addresses (500 tasks at once)") from None

    def _event(self, model: Any, message: str) -> None:
        """A service event, newest first, as DescribeServices shows them."""
        with self._lock:
            events: list[dict[str, Any]] = model.events
            stamp = datetime.fromtimestamp(self._clock(), UTC)
            events.insert(0, {"id": f"{time.time_ns():x}", "createdAt": stamp, "message": message})
            del events[_EVENTS_KEPT:]
