"""Server-side batching: grouping, fan-out under concurrency, per-item failure, wrong-length results."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.unit.serving.conftest import client_for, make_model_dir, running_app


def _batch_spec(**serving: Any) -> dict[str, Any]:
    return {"serving": {"max_batch_size": 8, "batch_timeout_ms": 50, **serving}}


async def _concurrent(model_dir: Path, bodies: list[dict[str, Any]]) -> tuple[list[Any], Any]:
    async with running_app(model_dir) as app, client_for(app) as client:
        replies = await asyncio.gather(*(client.post("/invocations", json=body) for body in bodies))
        return replies, app.runtime.handler


def test_each_caller_gets_its_own_answer_under_concurrency(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "batch_echo", _batch_spec(max_batch_size=8, batch_timeout_ms=200))
    replies, handler = asyncio.run(_concurrent(model_dir, [{"id": n} for n in range(40)]))
    assert [reply.json()["id"] for reply in replies] == list(range(40))
    sizes = handler.predict_batch.__self__.sizes
    assert sum(sizes) == 40 and max(sizes) <= 8
    assert len(sizes) < 40  # grouped: fewer calls than requests


def test_batches_form_while_the_lane_is_busy_even_without_a_timeout(tmp_path: Path) -> None:
    spec = _batch_spec(batch_timeout_ms=0)
    spec["predictor"] = {"config": {"seconds": 0.2}}
    model_dir = make_model_dir(tmp_path, "batch_echo", spec)
    replies, handler = asyncio.run(_concurrent(model_dir, [{"id": n} for n in range(9)]))
    assert [reply.json()["id"] for reply in replies] == list(range(9))
    assert handler.predict_batch.__self__.sizes == [1, 8]


def test_a_failing_item_fails_only_its_request(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "batch_item_fails", _batch_spec(batch_timeout_ms=200))
    replies, _ = asyncio.run(_concurrent(model_dir, [{"id": 0}, {"id": 1, "bad": True}, {"id": 2}]))
    assert [reply.status_code for reply in replies] == [200, 500, 200]
    assert replies[1].json()["error"]["message"] == "ValueError: item 1 is bad"


def test_wrong_number_of_results_fails_the_batch_clearly(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "batch_wrong_length", _batch_spec(max_batch_size=2, batch_timeout_ms=500))
    replies, _ = asyncio.run(_concurrent(model_dir, [{"id": 0}, {"id": 1}]))
    assert [reply.status_code for reply in replies] == [500, 500]
    assert replies[0].json()["error"] == {
        "code": "serving.bad_output",
        "message": "predict_batch returned 1 results for 2 requests",
    }


def test_without_predict_batch_the_spec_batch_size_is_ignored(tmp_path: Path) -> None:
    model_dir = make_model_dir(tmp_path, "echo", _batch_spec())
    replies, _ = asyncio.run(_concurrent(model_dir, [{"id": n} for n in range(3)]))
    assert [reply.json() for reply in replies] == [{"id": 0}, {"id": 1}, {"id": 2}]
