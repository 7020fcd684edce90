"""Smoke test the new version; traffic goes back to the old one on failure."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.verify)
