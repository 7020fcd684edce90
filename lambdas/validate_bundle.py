"""Stream the uploaded bundle through the inspector; no user code runs."""

from axon.rollout import prepare
from lambdas._shared import step_handler

handler = step_handler(prepare.validate)
