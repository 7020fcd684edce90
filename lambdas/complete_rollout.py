"""After the commit point: prune old versions, notify, hand the API's lease on (never rolls anything back)."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.complete)
