"""One poll of the deployment; records the traffic split on the version."""

from axon.rollout import release
from lambdas._shared import step_handler

handler = step_handler(release.check_deployment)
