"""Local mode lets only axon's own Lambda functions exist and run: no handler is imported that it did not provision.

The finding: ``CreateFunction(Handler="cProfile.run")`` then ``Invoke`` with a string of code ran that code inside
the stack's process. These tests make the same calls through boto3, as any client of the stack would.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from axon.functions import AUTOSCALER_FUNCTION, RECONCILER_FUNCTION
from axon_local.patches import PatchOptions, install, moto_patches, uninstall
from axon_local.patches.lambda_guard import check_invocation
from axon_local.trust import provisioned_handlers

UNTRUSTED = "tests.unit.local.untrusted_handler.handler"  # a module this file never imports


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "in-process")
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield boto3.client("lambda"), role


def _create(lam: Any, role: str, name: str, handler: str) -> dict[str, Any]:
    return lam.create_function(  # type: ignore[no-any-return]
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler, Code={"ZipFile": _zip()}
    )


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(error["Error"]["Message"])


def test_create_function_with_any_other_handler_or_name_is_refused(aws: tuple[Any, str]) -> None:
    lam, role = aws
    with moto_patches(lambda_handlers=provisioned_handlers()):
        message = _refused(lambda: _create(lam, role, "cprofile", "cProfile.run"))
        assert "cProfile.run" in message and "lambdas." in message
        _refused(lambda: _create(lam, role, AUTOSCALER_FUNCTION.function_name, "cProfile.run"))  # axon's name
        _refused(lambda: _create(lam, role, "my-function", AUTOSCALER_FUNCTION.handler))  # axon's handler
        _refused(lambda: _create(lam, role, AUTOSCALER_FUNCTION.function_name, RECONCILER_FUNCTION.handler))
        assert lam.list_functions()["Functions"] == []
        created = _create(lam, role, AUTOSCALER_FUNCTION.function_name, AUTOSCALER_FUNCTION.handler)
        assert created["Handler"] == AUTOSCALER_FUNCTION.handler


def test_an_axon_function_cannot_be_pointed_at_another_handler(aws: tuple[Any, str]) -> None:
    lam, role = aws
    name = AUTOSCALER_FUNCTION.function_name
    with moto_patches(lambda_handlers=provisioned_handlers()):
        _create(lam, role, name, AUTOSCALER_FUNCTION.handler)
        _refused(lambda: lam.update_function_configuration(FunctionName=name, Handler="cProfile.run"))
        assert lam.get_function(FunctionName=name)["Configuration"]["Handler"] == AUTOSCALER_FUNCTION.handler
        lam.update_function_configuration(FunctionName=name, MemorySize=1024)  # other settings still change
        lam.update_function_code(FunctionName=name, ZipFile=_zip())  # code is ignored: the checkout's runs


def test_a_function_that_exists_with_another_handler_is_never_invoked(aws: tuple[Any, str]) -> None:
    """Created before the allowlist (e.g. by an older stack's state): Invoke and every delivery path refuse it,
    and the runtime itself refuses before importing anything."""
    lam, role = aws
    with moto_patches():
        _create(lam, role, "planted", UNTRUSTED)
    with moto_patches(lambda_handlers=provisioned_handlers()):
        _refused(lambda: lam.invoke(FunctionName="planted", Payload=b"{}"))
        with pytest.raises(Exception, match="does not allow lambda:InvokeFunction"):
            check_invocation("planted", UNTRUSTED)
    assert "tests.unit.local.untrusted_handler" not in sys.modules


def test_the_runtime_refuses_even_when_called_directly(aws: tuple[Any, str]) -> None:
    from moto.awslambda.models import lambda_backends

    lam, role = aws
    with moto_patches():
        _create(lam, role, "planted", UNTRUSTED)
    function = lambda_backends["123456789012"]["us-east-1"].get_function("planted")
    with moto_patches(lambda_handlers=provisioned_handlers()), pytest.raises(Exception, match="not allow"):
        function._invoke_lambda(event=json.dumps({}))
    assert "tests.unit.local.untrusted_handler" not in sys.modules


def test_provisioned_functions_still_run(aws: tuple[Any, str]) -> None:
    lam, role = aws
    with moto_patches(lambda_handlers=provisioned_handlers()):
        _create(lam, role, AUTOSCALER_FUNCTION.function_name, AUTOSCALER_FUNCTION.handler)
        answer = lam.invoke(FunctionName=AUTOSCALER_FUNCTION.function_name, Payload=b"{}")
        payload = json.loads(answer["Payload"].read())
        # It ran (its settings are not configured here, so it fails inside the handler, not at the door).
        assert "AccessDenied" not in json.dumps(payload)


def test_the_allowlist_holds_only_handlers_under_lambdas() -> None:
    assert all(h.startswith("lambdas.") for h in provisioned_handlers().values())
    for bad in ("cProfile.run", "lambdas.x", "lambdas.a.b.c", "lambdasx.a.handler", "os.system"):
        with pytest.raises(ValueError, match="lambdas"):
            PatchOptions(lambda_handlers={"f": bad})
    install(PatchOptions(lambda_handlers=provisioned_handlers()))
    uninstall()
