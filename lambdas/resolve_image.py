"""Reuse the content-addressed serving image, or start its CodeBuild build."""

from axon.rollout import prepare
from lambdas._shared import step_handler

handler = step_handler(prepare.resolve_image)
