"""The ECS platform: per-version ECS services behind weighted ALB target groups (docs/ecs.md), split by resource.

- :mod:`~axon.platforms.ecs.platform`: :class:`EcsPlatform`, the rollout's decisions (health, smoke test, alarms)
  and the autoscaler's replica counts; an async API's versions are walked by :mod:`~axon.platforms.ecs.async_rollout`;
- :mod:`~axon.platforms.ecs.shift`: the pure weight walk (:func:`~axon.platforms.ecs.shift.next_move`);
- :mod:`~axon.platforms.ecs.listener`: the ALB side of a version: target groups, their tags, the API's listener
  rules (production and test) and the rollback alarms on the target group's metrics;
- :mod:`~axon.platforms.ecs.service`: the ECS side of a version: names, task definition, service, whether its
  fleet is placed and healthy (GPU capacity), and tasks that stopped because the model cannot load;
- :mod:`~axon.platforms.ecs.config`: the ``/axon/ecs/config`` SSM parameter AxonEcs writes;
- :mod:`~axon.platforms.ecs.smoke`: the smoke test's one request, sent from inside the VPC by ``axon-ecs-smoke``.

One status poll (``EcsPlatform.deployment_status``) is followed in three files: ``platform.py``, ``listener.py``
and ``service.py``; beyond them it touches only shared one-liners (the result types of :mod:`axon.platforms.base`,
the alarm names of :mod:`axon.platforms.alarms`, ``RolloutSpec.traffic_steps``).
"""
