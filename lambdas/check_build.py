"""One poll of the image build (the state machine loops with a Wait)."""

from axon.rollout import prepare
from lambdas._shared import step_handler

handler = step_handler(prepare.check_build)
