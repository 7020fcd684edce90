"""The new version goes live; old models pruned; the next queued upload starts."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.finalize)
