"""`axon local up` answers nothing before its wiring exists: an upload made the moment the bucket answers rolls out.

Provisioning is slowed where it hurts most: after the bucket exists, before the upload rule does. A server that
answered early would accept the upload and never roll it out.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from axon.registry import VersionStatus
from axon_local import stack as stack_module
from axon_local.provision import Provisioned
from axon_local.stack import LocalOptions, LocalStack
from tests.functional.rollout.conftest import bundle
from tests.integration.harness import LocalClients

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("local-stack")]

SLOW_SECONDS = 3.0  # the gap between the bucket and the upload rule
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_it_connects(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise AssertionError(f"port {port} never accepted a connection")


@pytest.fixture
def slowed_provisioning(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Delay the ``events`` client (the rule comes after the bucket); returns when provisioning ended."""
    real = stack_module.provision
    ended: list[float] = []

    def slow(client: Callable[..., Any], *args: Any, **kwargs: Any) -> Provisioned:
        def slow_client(service: str, **options: Any) -> Any:
            if service == "events":
                time.sleep(SLOW_SECONDS)
            return client(service, **options)

        provisioned = real(slow_client, *args, **kwargs)
        ended.append(time.monotonic())
        return provisioned

    monkeypatch.setattr(stack_module, "provision", slow)
    return ended


@pytest.fixture
def starting_stack(tmp_path: Path) -> Iterator[tuple[LocalStack, threading.Thread]]:
    """A stack starting on a background thread; the test talks to its port while it starts."""
    saved = dict(os.environ)
    stack = LocalStack(
        LocalOptions(
            port=_free_port(),
            tick_seconds=3600,
            wait_scale=0.05,
            time_scale=20,
            cache_dir=tmp_path,
            ready_hold_seconds=60,
        )
    )
    starter = threading.Thread(target=stack.start, name="test-stack-start", daemon=True)
    starter.start()
    try:
        yield stack, starter
    finally:
        starter.join(timeout=START_TIMEOUT)
        stack.close()
        os.environ.clear()
        os.environ.update(saved)


def test_an_upload_made_as_soon_as_the_bucket_answers_rolls_out(
    starting_stack: tuple[LocalStack, threading.Thread], slowed_provisioning: list[float]
) -> None:
    stack, starter = starting_stack
    port = stack.options.port
    deadline = time.monotonic() + START_TIMEOUT
    _wait_until_it_connects(port, deadline)
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=90, connect_timeout=5),
    )
    first_answer: float | None = None
    while True:  # what a script does: wait for the bucket, then upload at once
        try:
            s3.head_bucket(Bucket="axon-models")
            break
        except ClientError:
            first_answer = first_answer or time.monotonic()
            assert time.monotonic() < deadline, "the bucket never answered"
            time.sleep(0.05)
    first_answer = first_answer or time.monotonic()
    version_id = s3.put_object(Bucket="axon-models", Key="apis/early/bundle.tar.gz", Body=bundle())["VersionId"]

    assert slowed_provisioning and first_answer > slowed_provisioning[0], "answered before provisioning ended"
    starter.join(timeout=START_TIMEOUT)
    assert not starter.is_alive() and stack.provisioned is not None
    local = LocalClients(stack, dict(os.environ))
    record = local.wait_final("early", version_id, timeout=120)
    assert record.status == VersionStatus.LIVE, record.reason
