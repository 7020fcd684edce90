"""The patches in moto server mode (ThreadedMotoServer in this process), as local mode runs them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from moto.server import ThreadedMotoServer

from axon.rollout.events import upload_event_pattern
from axon_local.patches import moto_patches
from tests.functional.harness import handlers
from tests.functional.harness.conftest import HANDLERS, any_zip, client, create_role
from tests.functional.harness.test_step_functions import wait_for_execution


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MOTO_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto_server.start()
    requests.post(f"{url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
    try:
        with moto_patches(lambda_environment={"AWS_ENDPOINT_URL": url}):
            yield url
    finally:
        requests.post(f"{url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": False}}, timeout=10)
        requests.post(f"{url}/moto-api/reset", timeout=10)
        moto_server.stop()


def test_an_upload_runs_a_state_machine_whose_lambdas_call_the_server(server: str) -> None:
    role = create_role(client("iam", server))
    lambda_client = client("lambda", server)
    functions = {}
    for name in ("record", "list_buckets"):
        functions[name] = lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=f"{HANDLERS}.{name}",
            Code={"ZipFile": any_zip()},
        )["FunctionArn"]
    definition = {
        "StartAt": "Record",
        "States": {
            "Record": {"Type": "Task", "Resource": functions["record"], "ResultPath": None, "Next": "Buckets"},
            "Buckets": {"Type": "Task", "Resource": functions["list_buckets"], "End": True},
        },
    }
    sfn = client("stepfunctions", server)
    machine = sfn.create_state_machine(name="rollout", definition=json.dumps(definition), roleArn=role)
    s3, events = client("s3", server), client("events", server)
    s3.create_bucket(Bucket="axon-models")
    s3.put_bucket_notification_configuration(
        Bucket="axon-models", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    events.put_rule(Name="upload", EventPattern=json.dumps(upload_event_pattern("axon-models")))
    events.put_targets(Rule="upload", Targets=[{"Id": "sfn", "Arn": machine["stateMachineArn"], "RoleArn": role}])

    s3.put_object(Bucket="axon-models", Key="apis/iris/v1.tar.gz", Body=b"bundle")

    deadline = time.monotonic() + 10
    while not (executions := sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]):
        assert time.monotonic() < deadline, "the upload started no execution"
        time.sleep(0.05)
    execution = wait_for_execution(sfn, executions[0]["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == ["axon-models"], "the handler reached the server through boto3"
    assert [event["detail"]["object"]["key"] for event in handlers.received] == ["apis/iris/v1.tar.gz"]
