"""A model that cannot load ends the server at once: traceback logged, marker line on stderr, exit 3 (in-process)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from axon_serving.loader import read_spec
from axon_serving.worker import LOAD_FAILED_EXIT_CODE, bind, build_app, run_worker

from axon.names import MODEL_LOAD_FAILED_MARKER
from tests.unit.serving.conftest import make_model_dir


@pytest.mark.parametrize(
    ("predictor", "reason", "raised"),
    [
        ("raises_in_init", "Predictor.__init__ failed: RuntimeError: weights file is corrupt (predictor.py:6)", True),
        ("no_predictor_class", "predictor.py defines no class Predictor", False),
    ],
)
def test_a_failed_load_stops_the_server_with_exit_3_and_the_marker(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    predictor: str,
    reason: str,
    raised: bool,
) -> None:
    model_dir = make_model_dir(tmp_path, predictor)
    app = build_app(model_dir, read_spec(model_dir), {})
    with caplog.at_level(logging.ERROR, logger="axon_serving"):
        code = run_worker(app, bind("127.0.0.1", 0), drain_seconds=1, log_level="warning")
    assert code == LOAD_FAILED_EXIT_CODE
    assert capsys.readouterr().err.splitlines()[-1] == f"{MODEL_LOAD_FAILED_MARKER} {reason}"
    (record,) = [r for r in caplog.records if r.getMessage().startswith("model load failed")]
    assert (record.exc_info is not None) == raised  # the user's traceback goes to the log, when there is one
