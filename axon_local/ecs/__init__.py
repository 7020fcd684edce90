"""``compute.platform: ecs`` under ``axon local up``: moto holds ECS and ELBv2 state, this package runs it.

See :mod:`axon_local.ecs.plane` for how the parts fit and ``docs/local.md`` for what is emulated.
"""

from axon_local.ecs.agent import EcsAgent
from axon_local.ecs.alb import LocalAlb, RouteTable
from axon_local.ecs.plane import EcsOptions, LocalEcs
from axon_local.ecs.world import provision_ecs

__all__ = ["EcsAgent", "EcsOptions", "LocalAlb", "LocalEcs", "RouteTable", "provision_ecs"]
