"""ECS on moto: a new version whose model cannot load fails on the next poll, with the task's last log lines."""

from __future__ import annotations

from axon import names
from axon.platforms.base import DeploymentPhase
from axon.platforms.ecs.platform import EcsPlatform
from axon.platforms.errors import LOG_TAIL_LINES, ModelLoadFailedError
from tests.functional.platforms.conftest import World, client

MARKER_LINE = f"{names.MODEL_LOAD_FAILED_MARKER} Predictor.__init__ failed: RuntimeError: weights are corrupt (p.py:6)"
TRACEBACK = [f"  frame {n}" for n in range(30)] + ["RuntimeError: weights are corrupt", MARKER_LINE]


def test_a_task_exiting_while_loading_fails_the_version_at_once_and_v1_keeps_serving(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    task_id = world.ecs.crash("axon-iris-v2", 3, TRACEBACK)
    status = world.platform.deployment_status(v2, v1)  # long before the placement timeout
    assert (status.phase, status.new_version_percent) == (DeploymentPhase.FAILED, 0)
    assert status.reason_code == ModelLoadFailedError.code == "platform.model_load_failed"
    headline, *lines = status.message.splitlines()
    assert headline == (
        f"v2 could not load its model: task {task_id} stopped (Essential container in task exited) with exit code 3: "
        "Predictor.__init__ failed: RuntimeError: weights are corrupt (p.py:6). Last 20 lines of log "
        f"/aws/sagemaker/Endpoints/axon-iris v2/serving/{task_id}:"
    )
    assert lines == TRACEBACK[-LOG_TAIL_LINES:]
    assert world.weights() == [("v1", 100)] and world.service("iris", "v1")["runningCount"] == 1


def test_an_exit_without_the_marker_still_fails_with_the_log_it_left(world: World) -> None:
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    world.ecs.crash("axon-iris-v2", 137, ["Killed"])
    status = world.platform.deployment_status(v2, v1)
    assert status.reason_code == ModelLoadFailedError.code
    assert status.message.endswith("with exit code 137. Last 1 lines of log " + status.message.split("log ", 1)[1])
    assert status.message.splitlines()[-1] == "Killed"


def test_a_task_that_stopped_cleanly_is_no_failure(world: World) -> None:
    """Exit 0 is a drained task (scale-in, a replaced instance): green keeps waiting for its replacement."""
    v1 = world.live("v1")
    v2 = world.version("v2")
    world.platform.deploy(v2, v1)
    world.ecs.crash("axon-iris-v2", 0, ["drained"])
    status = world.platform.deployment_status(v2, v1)
    assert (status.phase, status.reason_code) == (DeploymentPhase.IN_PROGRESS, "")
    assert status.message.startswith("1 of 1 tasks of axon-iris-v2 are waiting")


def test_a_crash_before_the_first_version_fails_it_and_names_the_task_without_a_logs_client(world: World) -> None:
    platform = EcsPlatform(client("ecs"), client("elbv2"), client("cloudwatch"), world.config)
    v1 = world.version("v1")
    platform.deploy(v1, None)
    task_id = world.ecs.crash("axon-iris-v1", 3, [MARKER_LINE])
    status = platform.deployment_status(v1, None)
    assert (status.phase, status.reason_code) == (DeploymentPhase.FAILED, ModelLoadFailedError.code)
    assert status.message == (
        f"v1 could not load its model: task {task_id} stopped (Essential container in task exited) with exit code 3 "
        f"(nothing in log /aws/sagemaker/Endpoints/axon-iris v1/serving/{task_id} yet)"
    )
    assert world.weights() == []
