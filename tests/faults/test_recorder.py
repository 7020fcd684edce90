"""The recorder on a tiny handler: it keys calls by invocation, ignores the caller's own calls, and injects each
fault as AWS and botocore would surface it (the modeled exception class for the code, else ClientError)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from axon_local.patches import moto_patches
from bench.faults.model import CallSite, Fault, Injection
from bench.faults.recorder import Recorder
from tests.functional.harness.conftest import SFN_CONFIG, any_zip, client, create_role

CREATE_A = CallSite("creates_tables", "dynamodb", "CreateTable", 1)
CREATE_B = CallSite("creates_tables", "dynamodb", "CreateTable", 2)
LIST = CallSite("creates_tables", "dynamodb", "ListTables", 1)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(config=SFN_CONFIG), moto_patches():
        client("lambda").create_function(
            FunctionName="creates_tables",
            Runtime="python3.12",
            Role=create_role(client("iam")),
            Handler="tests.faults.handlers.creates_tables",
            Code={"ZipFile": any_zip()},
        )
        yield


def _invoke() -> Any:
    response = client("lambda").invoke(FunctionName="creates_tables", Payload=b"{}")
    return json.loads(response["Payload"].read())


@pytest.mark.usefixtures("aws")
def test_calls_are_keyed_by_function_operation_ordinal_and_invocation() -> None:
    recorder = Recorder()
    with recorder.active():
        client("dynamodb").list_tables()  # the caller's own call: not a Lambda's
        _invoke()
        _invoke()
    assert recorder.sites() == [CREATE_A, CREATE_B, LIST]
    assert [c.site.invocation for c in recorder.calls] == [1, 1, 1, 2, 2, 2]
    assert recorder.calls[0].params["TableName"] == "a"
    assert [c.error for c in recorder.calls[3:5]] == ["ResourceInUseException"] * 2


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("fault", "error_type"),
    [(Fault.RETRYABLE, "ProvisionedThroughputExceededException"), (Fault.PERMANENT, "ClientError")],  # unmodeled code,
)
def test_an_error_fault_raises_the_modeled_exception_once_instead_of_the_call(fault: Fault, error_type: str) -> None:
    recorder = Recorder(Injection(CREATE_B, fault))
    with recorder.active():
        assert _invoke()["errorType"] == error_type
        assert _invoke() == ["a", "b"]  # fired once
    assert recorder.fired
    assert [(c.site.operation, c.injected) for c in recorder.calls[:2]] == [
        ("CreateTable", None),
        ("CreateTable", fault),
    ]


@pytest.mark.usefixtures("aws")
def test_a_crash_happens_after_the_call_took_effect() -> None:
    recorder = Recorder(Injection(CREATE_B, Fault.CRASH))
    with recorder.active():
        assert _invoke()["errorType"] == "Runtime.ExitError"
    assert client("dynamodb").list_tables()["TableNames"] == ["a", "b"]
    assert [c.site for c in recorder.calls] == [CREATE_A, CREATE_B]


@pytest.mark.usefixtures("aws")
def test_twice_runs_the_targeted_invocation_twice() -> None:
    recorder = Recorder(Injection(dataclasses.replace(LIST, invocation=2), Fault.TWICE))
    with recorder.active():
        _invoke()
        _invoke()
    assert [c.site.invocation for c in recorder.calls] == [1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert [c.site.ordinal for c in recorder.calls if c.site.invocation == 2] == [1, 2, 1, 3, 4, 2]
