"""The ECS platform: per-version ECS services behind weighted ALB target groups (docs/ecs.md)."""
