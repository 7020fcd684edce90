"""A real ``axon-serve`` in worker mode against a moto server: it answers from the queue, and SIGTERM drains in
order (the poller finishes what it holds through the model server, then stops it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from axon import names
from axon.async_message import AsyncRequest
from axon.platforms.ecs import queue as ecs_queue
from axon.spec import ApiSpec
from tests.unit.serving.conftest import free_port, make_model_dir

pytestmark = pytest.mark.integration

API, BUCKET, REGION = "slow", "axon-models", "us-east-1"


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        server.stop()


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def _answer(key: str) -> Any:
    try:
        return json.loads(_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except _client("s3").exceptions.NoSuchKey:
        return None


def test_sigterm_finishes_the_held_request_then_stops_the_server(
    moto_url: str, tmp_path: Path, serve_process: Any
) -> None:
    sqs = _client("sqs")
    _client("s3").create_bucket(Bucket=BUCKET)
    queue = ecs_queue.ensure_queues(sqs, API, ApiSpec(kind="async"))
    model_dir = make_model_dir(
        tmp_path / "m", "slow_predict", {"kind": "async", "predictor": {"config": {"seconds": 3}}}
    )
    env = {
        "AXON_API": API,
        "AXON_VERSION": "v1",
        names.ASYNC_QUEUE_URL_ENV: queue.url,
        names.ASYNC_VISIBILITY_ENV: "30",
        "AXON_PUT_METRICS": "0",
    }
    server = serve_process(model_dir, env=env)
    server.wait_for_ping(200)
    request = AsyncRequest.for_api(API, BUCKET, "r1", content_type="application/json")
    _client("s3").put_object(Bucket=BUCKET, Key=f"{names.async_input_prefix(API)}r1", Body=b'{"id": 1}')
    sqs.send_message(QueueUrl=queue.url, MessageBody=request.to_json())
    deadline = time.monotonic() + 30
    while _in_flight(sqs, queue.url) == 0:  # the worker holds it (the model sleeps 3 s)
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
    children = _children(server.process.pid)
    assert children, "the model server runs as a child of the poller"
    assert server.terminate(timeout=60) == 0, server.stderr()  # SIGTERM, as ECS stops a task
    assert _answer(names.async_output_key(API, "r1")) == {"slept": 3.0, "id": 1}
    assert _in_flight(sqs, queue.url) == 0 and not _visible(sqs, queue.url)  # deleted after the answer
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, "the model server outlived the poller"
        time.sleep(0.1)


def _in_flight(sqs: Any, url: str) -> int:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(found["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def _visible(sqs: Any, url: str) -> int:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(found["Attributes"]["ApproximateNumberOfMessages"])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found
