"""Record why, undo traffic and resources, and hand the API's lease on."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.handle_failure)
