"""ECS GPU services behind the Platform interface: blue-green by weighted target groups on one ALB rule per API.

Each version gets its own task definition family, target group and service (``axon-<api>-<label>``). The API's
production rule forwards to the live version's target group; during a rollout it lists blue and green with
weights, which every CheckDeployment poll moves one step along ``traffic_steps(rollout)``. The rollout's
progress lives in AWS (the rule's weights, tags on green's target group), never in the Lambda, so any invocation
can pick it up. Request bodies come from :mod:`axon.platforms.ecs_specs`; docs/ecs.md explains the design.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from axon import names
from axon.platforms import ecs_specs as specs
from axon.platforms.base import Capacity, DeploymentPhase, DeploymentStatus, Platform, VersionRef
from axon.platforms.ecs_config import EcsConfig
from axon.platforms.errors import CapacityUnavailableError, PlatformError, SmokeTestFailedError
from axon.rollout.plan import traffic_steps

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

HttpPost = Callable[[str, bytes, Mapping[str, str], float], tuple[int, bytes]]
"""``(url, body, headers, timeout) -> (status, body)``; raises ``OSError`` when nothing answers."""

_SMOKE_TIMEOUT_CAP = 90.0  # seconds: VerifyVersion's Lambda has 120
_MISSING_SERVICE = {"ServiceNotFoundException", "ServiceNotActiveException"}
_MISSING_ELB = {"TargetGroupNotFound", "RuleNotFound"}
_RULE_ATTEMPTS = 3  # another API may take the same free priority at once: pick again


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    """POST with the standard library; HTTP error statuses are answers, not exceptions."""
    # The scheme is http(s): EcsConfig.url is validated against ^https?://.
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class _Health:
    """Green's fleet as ECS and the ALB see it."""

    desired: int
    running: int
    healthy: int
    started_at: float  # epoch seconds: when ECS accepted the service's deployment
    failed_reason: str  # the circuit breaker's reason when ECS gave up starting tasks, else ""
    placement_event: str  # newest "unable to place a task" service event, else ""

    @property
    def ready(self) -> bool:
        return self.desired > 0 and self.running >= self.desired and self.healthy >= self.desired


class EcsPlatform(Platform):
    name = "ecs"

    def __init__(
        self,
        ecs: ECSClient,
        elbv2: ElasticLoadBalancingv2Client,
        cloudwatch: CloudWatchClient,
        config: EcsConfig,
        *,
        clock: Callable[[], float] = time.time,
        post: HttpPost = http_post,
    ) -> None:
        self.ecs = ecs
        self.elbv2 = elbv2
        self.cloudwatch = cloudwatch
        self.config = config
        self.clock = clock
        self.post = post

    # ---- rollout --------------------------------------------------------------------------------------------

    def deploy(self, version: VersionRef, previous: VersionRef | None) -> None:
        """Start green at 0 % of traffic: target group, alarms, task definition, service, test rule. Idempotent."""
        instance_type = version.spec.compute.instance_type
        if instance_type not in self.config.capacity_providers:
            offered = ", ".join(sorted(self.config.capacity_providers))
            raise CapacityUnavailableError(
                f"cluster {self.config.cluster} has no capacity provider for {instance_type} (it offers {offered}); "
                "add the type to the AxonEcs stack's gpuInstanceTypes context"
            )
        target_group = self._ensure_target_group(version)
        for alarm in specs.alarm_requests(version, self.config.listener_arn, target_group):
            self.cloudwatch.put_metric_alarm(**alarm)
            # An update keeps the alarm's state: a rollback alarm of the last rollout must not stop this one.
            self.cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="OK", StateReason=f"axon: re-armed for {version.label}"
            )
        if self._service(version.api, version.label) is None:
            task_definition = self.ecs.register_task_definition(**specs.task_definition_request(version, self.config))
            self.ecs.create_service(
                **specs.service_request(
                    version,
                    self.config,
                    task_definition["taskDefinition"]["taskDefinitionArn"],
                    target_group,
                    self._initial_count(version, previous),
                )
            )
        self._ensure_test_rule(version, target_group)

    def deployment_status(self, version: VersionRef, previous: VersionRef | None) -> DeploymentStatus:
        """Reconcile one step: wait for green's health and smoke test, then move the weights one bake at a time."""
        green = self._target_group(version.api, version.label)
        if green is None:
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"the target group of {version.label} is gone")
        production = self._production_rule(version.api)
        weights = _weights(production)
        if [arn for arn, _ in weights] == [green]:
            self._retire(version, previous)
            return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)
        percent = dict(weights).get(green, 0)
        health = self._health(version)
        if health is None or health.failed_reason:
            why = health.failed_reason if health else "its service no longer exists"
            if percent > 0:
                self.rollback(version, previous)
                return DeploymentStatus(DeploymentPhase.ROLLED_BACK, 0, message=f"{version.label} failed: {why}")
            return DeploymentStatus(DeploymentPhase.FAILED, 0, message=f"{version.label} could not start: {why}")
        if not health.ready:
            if percent > 0:
                self.rollback(version, previous)
                return DeploymentStatus(
                    DeploymentPhase.ROLLED_BACK,
                    0,
                    message=f"{version.label} lost healthy targets with {percent}% of traffic "
                    f"({health.healthy} of {health.desired} healthy); traffic is back on the previous version",
                )
            return self._waiting(version, health)
        fired = self._firing_alarms(version.api)
        if fired:
            self.rollback(version, previous)
            return DeploymentStatus(
                DeploymentPhase.ROLLED_BACK,
                0,
                message=f"alarm {', '.join(fired)} fired with {percent}% of traffic on {version.label}; "
                "all traffic is back on the previous version",
            )
        tags = self._tags(green)
        if version.spec.smoke_test.payload is not None and tags.get(specs.TAG_SMOKE) != "true":
            return DeploymentStatus(
                DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=f"{version.label} is healthy; smoke test"
            )
        blue = [(arn, weight) for arn, weight in weights if arn != green]
        if production is None or not blue:
            return self._go_live(version, previous, production, green)  # nothing to shift from: all at once
        return self._step(version, previous, production, max(blue, key=lambda w: w[1])[0], green, percent, tags)

    def _step(
        self,
        version: VersionRef,
        previous: VersionRef | None,
        production: Any,
        blue: str,
        green: str,
        percent: int,
        tags: dict[str, str],
    ) -> DeploymentStatus:
        rollout = version.spec.rollout
        now = self.clock()
        if percent > 0:
            shift = specs.parse_shift_tag(tags.get(specs.TAG_SHIFT))
            if shift is None or shift[0] != percent:
                # The weights moved but the tag did not follow (an interrupted poll): restart this step's bake.
                self._tag(green, {specs.TAG_SHIFT: specs.shift_tag(percent, now)})
                return self._shifting(version, percent, f"baking {percent}% for {rollout.bake_seconds} s")
            waited = now - shift[1]
            if waited < rollout.bake_seconds:
                remaining = int(rollout.bake_seconds - waited)
                return self._shifting(version, percent, f"baking {percent}% ({remaining} s left)")
        target = specs.next_percent(traffic_steps(rollout), percent)
        if target is None:
            return self._go_live(version, previous, production, green)
        self.elbv2.modify_rule(
            **specs.modify_rule_request(production["RuleArn"], [(blue, 100 - target), (green, target)])
        )
        self._tag(green, {specs.TAG_SHIFT: specs.shift_tag(target, now)})
        return self._shifting(version, target, f"{target}% of traffic on {version.label}")

    @staticmethod
    def _shifting(version: VersionRef, percent: int, message: str) -> DeploymentStatus:
        return DeploymentStatus(DeploymentPhase.IN_PROGRESS, percent, reachable=True, message=message)

    def _go_live(
        self, version: VersionRef, previous: VersionRef | None, production: Any, green: str
    ) -> DeploymentStatus:
        """All traffic to green, blue out of the rule, then blue's resources removed."""
        if production is None:
            self._create_rule(version.api, specs.production_conditions(version.api), [(green, 100)], production=True)
        else:
            self.elbv2.modify_rule(**specs.modify_rule_request(production["RuleArn"], [(green, 100)]))
        self._retire(version, previous)
        return DeploymentStatus(DeploymentPhase.SUCCEEDED, 100, reachable=True)

    def _retire(self, version: VersionRef, previous: VersionRef | None) -> None:
        """After green took over: drop its test rule and remove blue (idempotent, so a repeated poll is harmless)."""
        self._delete_test_rules(version.api)
        if previous is not None and previous.label != version.label:
            self._remove(previous.api, previous.label)

    def _waiting(self, version: VersionRef, health: _Health) -> DeploymentStatus:
        """Green is not ready: say why (GPU capacity or health checks) until the placement timeout, then fail."""
        service = specs.service_name(version.api, version.label)
        waited = self.clock() - health.started_at
        timeout = self.config.placement_timeout_seconds
        compute = version.spec.compute
        if health.running < health.desired:
            what = (
                f"{health.desired - health.running} of {health.desired} tasks of {service} are waiting for "
                f"{compute.instance_type} capacity ({compute.gpu} GPU each)"
            )
            event = f"; ECS: {health.placement_event}" if health.placement_event else ""
            if waited >= timeout:
                error = CapacityUnavailableError(
                    f"{what} after {int(waited)} s (limit {timeout} s){event}; the live version is untouched"
                )
                return DeploymentStatus(DeploymentPhase.FAILED, 0, message=str(error))
            provider = self.config.capacity_providers[compute.instance_type]
            return DeploymentStatus(
                DeploymentPhase.IN_PROGRESS,
                0,
                message=f"{what}; capacity provider {provider} is adding instances{event}",
            )
        what = f"{health.healthy} of {health.desired} targets of {service} pass {specs.HEALTH_CHECK_PATH}"
        if waited >= timeout:
            return DeploymentStatus(
                DeploymentPhase.FAILED, 0, message=f"{what} after {int(waited)} s (limit {timeout} s)"
            )
        return DeploymentStatus(DeploymentPhase.IN_PROGRESS, 0, message=f"waiting for health checks: {what}")

    def rollback(self, version: VersionRef, previous: VersionRef | None) -> None:
        """All weight back on blue and the test rule gone; with no blue, the API's rule goes (nothing to serve)."""
        self._delete_test_rules(version.api)
        production = self._production_rule(version.api)
        green = self._target_group(version.api, version.label)
        weights = _weights(production)
        if production is None or green not in dict(weights):
            return  # traffic never reached green
        blue = [(arn, weight) for arn, weight in weights if arn != green]
        if blue:
            blue_arn = max(blue, key=lambda w: w[1])[0]
            self.elbv2.modify_rule(**specs.modify_rule_request(production["RuleArn"], [(blue_arn, 100)]))
        elif previous is None:
            self.elbv2.delete_rule(RuleArn=production["RuleArn"])
        else:
            raise PlatformError(
                f"{version.label} of {version.api} already took all traffic and {previous.label} was removed; "
                f"{version.label} keeps serving (roll out {previous.label} again with `axon rollback`)"
            )

    def smoke_test(self, version: VersionRef, payload: bytes, content_type: str) -> bytes:
        """One request through the ALB's test rule, which sends ``X-Axon-Version: <label>`` to green only."""
        green = self._target_group(version.api, version.label)
        if green is None:
            raise SmokeTestFailedError(f"{version.label} of {version.api} has no target group to test")
        self._ensure_test_rule(version, green)
        url = f"{self.config.url}/apis/{version.api}/invocations"
        headers = {"Content-Type": content_type, specs.VERSION_HEADER: version.label}
        timeout = min(version.spec.serving.request_timeout_seconds, _SMOKE_TIMEOUT_CAP)
        try:
            status, body = self.post(url, payload, headers, timeout)
        except OSError as error:
            raise SmokeTestFailedError(
                f"{url} ({specs.VERSION_HEADER}: {version.label}) did not answer: {error}"
            ) from None
        if status != 200:
            raise SmokeTestFailedError(f"{version.label} answered HTTP {status}: {body[:200]!r}")
        self._tag(green, {specs.TAG_SMOKE: "true"})
        return body

    def remove_version(self, version: VersionRef) -> None:
        self._remove(version.api, version.label)

    # ---- capacity -------------------------------------------------------------------------------------------

    def capacity(self, api: str) -> Capacity | None:
        live = self._live(api)
        if live is None:
            return None
        service, shifting = live
        return Capacity(
            variant=names.VARIANT_NAME,
            desired=int(service["desiredCount"]),
            current=int(service["runningCount"]),
            can_change=not shifting,
            status="Shifting" if shifting else str(service["status"]),
        )

    def set_capacity(self, api: str, variant: str, replicas: int) -> None:
        if variant != names.VARIANT_NAME:
            raise PlatformError(f"ECS APIs have one variant, {names.VARIANT_NAME}, not {variant!r}")
        live = self._live(api)
        if live is None:
            raise PlatformError(f"{api} has no live ECS service to scale")
        self.ecs.update_service(cluster=self.config.cluster, service=live[0]["serviceName"], desiredCount=replicas)

    def delete_api(self, api: str) -> None:
        production = self._production_rule(api)
        if production is not None:
            self.elbv2.delete_rule(RuleArn=production["RuleArn"])
        self._delete_test_rules(api)
        labels: set[str] = set()
        for page in self.ecs.get_paginator("list_services").paginate(cluster=self.config.cluster):
            labels.update(filter(None, (specs.label_of(api, arn.rsplit("/", 1)[-1]) for arn in page["serviceArns"])))
        prefix = f"{names.endpoint_name(api)}-"
        for families in self.ecs.get_paginator("list_task_definition_families").paginate(
            familyPrefix=prefix, status="ACTIVE"
        ):
            labels.update(filter(None, (specs.label_of(api, family) for family in families["families"])))
        for label in sorted(labels):
            self._remove(api, label)
        self.cloudwatch.delete_alarms(AlarmNames=[names.alarm_name(api, kind) for kind in ("5xx", "latency")])

    # ---- helpers: ECS ---------------------------------------------------------------------------------------

    def _service(self, api: str, label: str) -> Any:
        """The version's service while it is ACTIVE (a deleted one lingers as DRAINING/INACTIVE), else None."""
        described = self.ecs.describe_services(cluster=self.config.cluster, services=[specs.service_name(api, label)])
        active = [s for s in described["services"] if s.get("status") == "ACTIVE"]
        return active[0] if active else None

    def _initial_count(self, version: VersionRef, previous: VersionRef | None) -> int:
        """Green starts as large as blue is now (the autoscaler's last word), within the new spec's bounds."""
        blue = self._service(previous.api, previous.label) if previous is not None else None
        count = int(blue["desiredCount"]) if blue is not None else version.spec.init_replicas
        autoscaling = version.spec.autoscaling
        return min(max(count, autoscaling.min_replicas, 1), autoscaling.max_replicas)

    def _health(self, version: VersionRef) -> _Health | None:
        service = self._service(version.api, version.label)
        if service is None:
            return None
        primary: Any = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
        started = primary.get("createdAt") or service.get("createdAt")
        failed = primary.get("rolloutState") == "FAILED"
        event = next((e["message"] for e in service.get("events") or [] if "unable to place" in e["message"]), "")
        healthy = 0
        for target_group in service.get("loadBalancers") or []:
            described = self.elbv2.describe_target_health(TargetGroupArn=target_group["targetGroupArn"])
            healthy += sum(1 for t in described["TargetHealthDescriptions"] if t["TargetHealth"]["State"] == "healthy")
        return _Health(
            desired=int(service["desiredCount"]),
            running=int(service["runningCount"]),
            healthy=healthy,
            started_at=started.timestamp() if started is not None else self.clock(),
            failed_reason=str(primary.get("rolloutStateReason") or "the deployment failed") if failed else "",
            placement_event=event,
        )

    def _live(self, api: str) -> tuple[Any, bool] | None:
        """The service taking (most of) the API's traffic, and whether a rollout is moving the weights now."""
        weights = _weights(self._production_rule(api))
        if not weights:
            return None
        arn, _ = max(weights, key=lambda w: w[1])
        label = self._tags(arn).get(specs.TAG_VERSION)
        service = self._service(api, label) if label else None
        return (service, len(weights) > 1) if service is not None else None

    def _remove(self, api: str, label: str) -> None:
        """Delete one version's service, target group and task definitions; refuse if it still takes traffic."""
        target_group = self._target_group(api, label)
        if target_group is not None and target_group in dict(_weights(self._production_rule(api))):
            raise PlatformError(f"{label} of {api} is still in the API's listener rule; roll traffic off it first")
        self._delete_test_rules(api, label)
        try:
            self.ecs.update_service(cluster=self.config.cluster, service=specs.service_name(api, label), desiredCount=0)
            self.ecs.delete_service(cluster=self.config.cluster, service=specs.service_name(api, label))
        except ClientError as error:
            if _code(error) not in _MISSING_SERVICE:
                raise
        if target_group is not None:
            self._ignore_missing(self.elbv2.delete_target_group, TargetGroupArn=target_group)
        family = specs.task_family(api, label)
        for page in self.ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
            for arn in page["taskDefinitionArns"]:
                if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family:
                    self.ecs.deregister_task_definition(taskDefinition=arn)

    # ---- helpers: load balancer -----------------------------------------------------------------------------

    def _target_group(self, api: str, label: str) -> str | None:
        try:
            found = self.elbv2.describe_target_groups(Names=[specs.target_group_name(api, label)])
        except ClientError as error:
            if _code(error) in _MISSING_ELB:
                return None
            raise
        return str(found["TargetGroups"][0]["TargetGroupArn"])

    def _ensure_target_group(self, version: VersionRef) -> str:
        existing = self._target_group(version.api, version.label)
        if existing is not None:
            return existing
        created = self.elbv2.create_target_group(**specs.target_group_request(version, self.config.vpc_id))
        arn = str(created["TargetGroups"][0]["TargetGroupArn"])
        self.elbv2.modify_target_group_attributes(**specs.target_group_attributes_request(arn))
        return arn

    def _tags(self, arn: str) -> dict[str, str]:
        described = self.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        return {tag["Key"]: tag["Value"] for d in described for tag in d.get("Tags") or []}

    def _tag(self, arn: str, tags: dict[str, str]) -> None:
        self.elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def _rules(self) -> list[Any]:
        rules: list[Any] = []
        request: dict[str, Any] = {"ListenerArn": self.config.listener_arn}
        while True:
            page = self.elbv2.describe_rules(**request)
            rules.extend(page["Rules"])
            if not page.get("NextMarker"):
                return rules
            request["Marker"] = page["NextMarker"]

    def _production_rule(self, api: str) -> Any:
        wanted = specs.conditions_key(specs.production_conditions(api))
        return next((r for r in self._rules() if specs.conditions_key(r["Conditions"]) == wanted), None)

    def _test_rules(self, api: str) -> list[Any]:
        """The API's test rules (one per rollout; more only if an interrupted rollout left one behind)."""
        path = specs.conditions_key(specs.production_conditions(api))[0]
        return [
            rule
            for rule in self._rules()
            if path in (key := specs.conditions_key(rule["Conditions"]))
            and any(field == "http-header" and name == specs.VERSION_HEADER.lower() for field, name, _ in key)
        ]

    def _ensure_test_rule(self, version: VersionRef, target_group: str) -> None:
        wanted = specs.conditions_key(specs.test_conditions(version.api, version.label))
        if not any(specs.conditions_key(r["Conditions"]) == wanted for r in self._test_rules(version.api)):
            conditions = specs.test_conditions(version.api, version.label)
            self._create_rule(version.api, conditions, [(target_group, 1)], production=False)

    def _delete_test_rules(self, api: str, label: str | None = None) -> None:
        """Delete the API's test rules (only ``label``'s, when given)."""
        only = specs.conditions_key(specs.test_conditions(api, label)) if label else None
        for rule in self._test_rules(api):
            if only is None or specs.conditions_key(rule["Conditions"]) == only:
                self._ignore_missing(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])

    def _create_rule(
        self, api: str, conditions: list[dict[str, Any]], weights: list[tuple[str, int]], *, production: bool
    ) -> None:
        """Create one of the API's two rules in the API's priority slot (a fresh slot if it has none)."""
        for attempt in range(_RULE_ATTEMPTS):
            rules = self._rules()
            mine = [r for r in rules if r.get("Priority", "default").isdigit() and _is_api_rule(api, r)]
            used = {int(r["Priority"]) for r in rules if str(r.get("Priority", "")).isdigit()}
            slot = (int(mine[0]["Priority"]) + 1) // 2 if mine else specs.free_slot(used)
            priority = specs.rule_priorities(slot)[1 if production else 0]
            try:
                self.elbv2.create_rule(
                    **specs.rule_request(self.config.listener_arn, priority, conditions, api, weights)
                )
                return
            except ClientError as error:
                if _code(error) != "PriorityInUse" or attempt == _RULE_ATTEMPTS - 1:
                    raise

    def _firing_alarms(self, api: str) -> list[str]:
        alarm_names = [names.alarm_name(api, kind) for kind in ("5xx", "latency")]
        described = self.cloudwatch.describe_alarms(AlarmNames=alarm_names)
        return sorted(alarm["AlarmName"] for alarm in described["MetricAlarms"] if alarm["StateValue"] == "ALARM")

    @staticmethod
    def _ignore_missing(delete: Callable[..., Any], **kwargs: Any) -> None:
        try:
            delete(**kwargs)
        except ClientError as error:
            if _code(error) not in _MISSING_ELB:
                raise


def _weights(rule: Any) -> list[tuple[str, int]]:
    """The rule's forward targets and weights, as ``[(target group ARN, weight)]`` (empty for no rule)."""
    if rule is None:
        return []
    weights: list[tuple[str, int]] = []
    for action in rule["Actions"]:
        if action["Type"] != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            weights.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif action.get("TargetGroupArn"):
            weights.append((action["TargetGroupArn"], 1))
    return weights


def _is_api_rule(api: str, rule: Any) -> bool:
    path = specs.conditions_key(specs.production_conditions(api))[0]
    return path in specs.conditions_key(rule["Conditions"])
