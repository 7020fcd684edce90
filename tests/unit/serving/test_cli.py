"""Options (flags, SageMaker's env and argument) and worker planning (CPU workers, one per GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
from axon_serving.cli import parse_options
from axon_serving.devices import plan_workers, visible_gpus
from axon_serving.limits import Limits


def test_sagemaker_invocation_defaults() -> None:
    options = parse_options(["serve"], {"SAGEMAKER_BIND_TO_PORT": "9090"})
    assert (options.model_dir, options.host, options.port, options.workers) == (
        Path("/opt/ml/model"),
        "0.0.0.0",
        9090,
        None,
    )


def test_flags_win_over_env() -> None:
    env = {"SAGEMAKER_BIND_TO_PORT": "9090", "AXON_BUNDLE_URI": "s3://b/k"}
    argv = ["--model-dir", "/m", "--port", "7000", "--host", "127.0.0.1", "--workers", "3", "--bundle-uri", "s3://x/y"]
    options = parse_options(argv, env)
    assert (options.model_dir, options.port, options.host, options.workers) == (Path("/m"), 7000, "127.0.0.1", 3)
    assert options.bundle_uri == "s3://x/y"
    assert parse_options([], env).bundle_uri == "s3://b/k"


@pytest.mark.parametrize("argv", [["--workers", "0"], ["train"], ["--port", "http"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_options(argv, {})
    assert caught.value.code == 2


def test_cpu_plan_has_the_requested_workers() -> None:
    plans = plan_workers(3, 0, ["0", "1"])
    assert [plan.env for plan in plans] == [{"AXON_DEVICE": "cpu", "AXON_WORKER": str(i)} for i in range(3)]


def test_gpu_plan_is_one_worker_per_device() -> None:
    plans = plan_workers(4, 1, ["2", "5"])
    assert [plan.env["CUDA_VISIBLE_DEVICES"] for plan in plans] == ["2", "5"]
    assert {plan.env["AXON_DEVICE"] for plan in plans} == {"cuda:0"}


def test_gpu_requested_but_none_visible_falls_back_to_cpu() -> None:
    assert [plan.env["AXON_DEVICE"] for plan in plan_workers(2, 1, [])] == ["cpu", "cpu"]


def test_visible_gpus(tmp_path: Path) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0, 3"}) == ["0", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    (tmp_path / "0000:00:1e.0").mkdir()
    (tmp_path / "0000:00:1f.0").mkdir()
    assert visible_gpus({}, proc=tmp_path) == ["0", "1"]
    assert visible_gpus({}, proc=tmp_path / "absent") == []


def test_connection_limits_default_for_sagemaker_and_the_alb() -> None:
    limits = parse_options(["serve"], {}).limits
    assert (limits.header_timeout, limits.body_timeout, limits.keep_alive_timeout) == (10, 60, 75)
    assert limits.max_connections == 1000
    assert limits.keep_alive_timeout > 60  # the ALB's idle timeout: it must close an idle connection first


def test_connection_limits_from_env_and_flags() -> None:
    env = {"AXON_HEADER_TIMEOUT": "5", "AXON_BODY_TIMEOUT": "30", "AXON_KEEP_ALIVE_TIMEOUT": "120"}
    options = parse_options(["--max-connections", "50", "--body-timeout", "7.5"], {**env, "AXON_MAX_CONNECTIONS": "9"})
    assert options.limits == Limits(5, 7.5, 120, 50)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--header-timeout", "0"], {}),
        (["--max-connections", "-1"], {}),
        ([], {"AXON_BODY_TIMEOUT": "soon"}),
        ([], {"AXON_MAX_CONNECTIONS": "1.5"}),
    ],
)
def test_bad_connection_limits_exit_2(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_options(argv, env)
    assert caught.value.code == 2
