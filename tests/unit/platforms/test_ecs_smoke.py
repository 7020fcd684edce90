"""The smoke function's guard: it sends only a path under /apis/ with named headers, to its one target, bounded."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from axon.platforms.ecs import smoke as ecs_smoke
from axon.platforms.ecs.smoke import MAX_BODY_BYTES, MAX_TIMEOUT_SECONDS, SmokeRequestRefusedError

BASE = "http://internal-axon-1.us-east-1.elb.amazonaws.com"


def _event(**overrides: Any) -> dict[str, Any]:
    event = {
        "path": "/apis/iris/invocations",
        "headers": {"Content-Type": "application/json", "X-Axon-Version": "v2", "X-Axon-Test-Token": "5ec"},
        "body": base64.b64encode(b'{"x": 1}').decode(),
        "timeout": 10.0,
    }
    return {**event, **overrides}


class Recorder:
    def __init__(self, answer: tuple[int, bytes, dict[str, str]] | OSError) -> None:
        self.answer = answer
        self.sent: list[tuple[str, bytes, dict[str, str], float]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Any:
        self.sent.append((url, body, dict(headers), timeout))
        if isinstance(self.answer, OSError):
            raise self.answer
        return self.answer


def test_a_smoke_request_goes_to_the_configured_alb_only() -> None:
    post = Recorder((200, b'{"ok": 1}', {"Content-Type": "application/json", "Set-Cookie": "s=1"}))
    answer = ecs_smoke.SmokeAnswer.model_validate(ecs_smoke.perform(_event(), BASE, post))
    assert post.sent == [(f"{BASE}/apis/iris/invocations", b'{"x": 1}', _event()["headers"], 10.0)]
    assert (answer.status, answer.content(), answer.headers, answer.truncated) == (
        200,
        b'{"ok": 1}',
        {"content-type": "application/json"},
        False,
    )


@pytest.mark.parametrize(
    "path",
    [
        "http://169.254.169.254/latest/meta-data",
        "//evil.example/apis/x/invocations",
        "/apis/iris/../../admin",
        "/apis/iris/./invocations",
        "/apis/iris/invocations?x=1",
        "/apis/IRIS/invocations",
        "/ping",
        "/apis/iris",
        "@evil.example/apis/iris/invocations",
    ],
)
def test_anything_but_a_path_under_apis_is_refused(path: str) -> None:
    post = Recorder((200, b"", {}))
    with pytest.raises(SmokeRequestRefusedError):
        ecs_smoke.perform(_event(path=path), BASE, post)
    assert post.sent == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"headers": {"Host": "evil.example"}},
        {"headers": {"X-Axon-Version": "v1\r\nX-Injected: 1"}},
        {"timeout": MAX_TIMEOUT_SECONDS + 1},
        {"timeout": 0},
        {"body": base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode()},
        {"body": "not base64!"},
        {"url": BASE},
    ],
)
def test_headers_timeouts_and_sizes_out_of_bounds_are_refused(overrides: dict[str, Any]) -> None:
    post = Recorder((200, b"", {}))
    with pytest.raises(SmokeRequestRefusedError):
        ecs_smoke.perform(_event(**overrides), BASE, post)
    assert post.sent == []


def test_a_large_answer_is_cut_and_marked() -> None:
    post = Recorder((200, b"y" * (MAX_BODY_BYTES + 1), {}))
    answer = ecs_smoke.SmokeAnswer.model_validate(ecs_smoke.perform(_event(), BASE, post))
    assert (len(answer.content()), answer.truncated) == (MAX_BODY_BYTES, True)


def test_no_answer_is_reported_not_raised() -> None:
    answer = ecs_smoke.perform(_event(), BASE, Recorder(TimeoutError("timed out")))
    assert (answer["status"], answer["error"]) == (0, "timed out")


@pytest.mark.parametrize("value", ["", "169.254.169.254", "http://alb/apis", "http://a@b", "file:///etc"])
def test_the_target_must_be_a_base_url(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AXON_ECS_SMOKE_TARGET", value)
    with pytest.raises(SmokeRequestRefusedError):
        ecs_smoke.target()
