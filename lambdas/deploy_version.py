"""Create the model and config; create the endpoint or start the blue-green update."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.deploy)
