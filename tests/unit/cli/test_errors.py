"""Every failure is one ``error:`` line and exit 1; AXON_DEBUG=1 shows the traceback instead."""

import sys

import pytest
import typer
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)
from typer.testing import CliRunner

from axon.cli.app import AxonGroup
from axon.cli.errors import NotFoundError, describe
from axon.errors import AxonError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFoundError("no API named 'x'"), "cli.not_found: no API named 'x'"),
        (AxonError("bad", code="bundle.not_gzip"), "bundle.not_gzip: bad"),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "PutObject"),
            "PutObject failed: AccessDenied: not allowed",
        ),
        (ClientError({"Error": {"Code": "Throttling"}}, "Query"), "Query failed: Throttling"),
        (
            NoCredentialsError(),
            "no AWS credentials found: configure a profile (or pass --profile), or for the local stack pass --endpoint-url",
        ),
        (NoRegionError(), "no AWS region configured: set AWS_REGION"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/"),
            "cannot reach http://127.0.0.1:4566/: is it running?",
        ),
        (ParamValidationError(report="Bucket is required"), "Parameter validation failed: Bucket is required"),
        (FileNotFoundError(2, "No such file or directory", "p.json"), "No such file or directory: p.json"),
        (ValueError("boom"), "unexpected ValueError: boom (set AXON_DEBUG=1 for the traceback)"),
    ],
)
def test_describe(error: Exception, expected: str) -> None:
    assert describe(error) == expected


def _app(error: Exception) -> typer.Typer:
    app = typer.Typer(cls=AxonGroup, pretty_exceptions_enable=False)

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:
        pass

    return app


def test_the_handler_prints_one_line_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AXON_DEBUG", raising=False)
    result = CliRunner().invoke(_app(NotFoundError("no API named 'x'")), ["fail"])
    assert (result.exit_code, result.stderr, result.stdout) == (1, "error: cli.not_found: no API named 'x'\n", "")


def test_typer_exits_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AXON_DEBUG", raising=False)
    assert CliRunner().invoke(_app(typer.Exit(130)), ["fail"]).exit_code == 130


def test_axon_debug_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXON_DEBUG", "1")
    result = CliRunner().invoke(_app(ValueError("boom")), ["fail"])
    assert isinstance(result.exception, ValueError)


def test_an_interpreter_older_than_axon_supports_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    from axon.cli import app

    monkeypatch.setattr(sys, "version_info", (3, 11, 2, "final", 0))
    with pytest.raises(SystemExit, match=r"axon needs Python 3\.11\.4 or newer; this is Python 3\.11\.2"):
        app.main()
