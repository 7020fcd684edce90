"""axon-serve must outlast the ALB on an idle connection: a proxy that reuses a connection the target has just
closed answers the client 502. AWS's advice for targets behind an ALB: keep-alive above its idle timeout."""

from __future__ import annotations

import pytest
from axon_serving.limits import KEEP_ALIVE_TIMEOUT

from tests.cdk.conftest import Synth

pytestmark = pytest.mark.xdist_group("cdk")

ALB_DEFAULT_IDLE_TIMEOUT = 60  # seconds, when the template leaves idle_timeout.timeout_seconds unset


def test_the_alb_idle_timeout_is_below_axon_serves_keep_alive(ecs_synth: Synth) -> None:
    (balancer,) = ecs_synth.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"].get("LoadBalancerAttributes", [])}
    idle = int(attributes.get("idle_timeout.timeout_seconds", ALB_DEFAULT_IDLE_TIMEOUT))
    assert idle < KEEP_ALIVE_TIMEOUT, f"ALB idle timeout {idle} s must stay under axon-serve's {KEEP_ALIVE_TIMEOUT} s"
