"""What the local stack's front door accepts: loopback Host, no browser headers, SigV4-signed AWS calls.

Pure rules first, then a real front door on an ephemeral port, reached the way an attacker's page or a rebinding
host would reach it (raw HTTP with the headers a browser sends) and the way real clients do (boto3).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_api._internal.models import moto_api_backend

from axon_local import trust
from axon_local.frontdoor import STATS_PATH, FrontDoor, FrontDoorOptions, serve

BUCKET = "trust-bucket"
SIGNED = {"authorization": "AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/s3/aws4_request, Signature=0"}


@pytest.mark.parametrize(
    ("host", "port", "ok"),
    [
        ("127.0.0.1:4566", 4566, True),
        ("localhost:4566", 4566, True),
        ("LOCALHOST:4566", 4566, True),
        ("[::1]:4566", 4566, True),
        ("axon-models.localhost:4566", 4566, True),  # virtual-hosted S3; *.localhost never leaves the machine
        ("localhost", 80, True),
        ("localhost:4567", 4566, False),  # another port: not this door
        ("localhost", 4566, False),
        ("attacker.example:4566", 4566, False),  # a rebound name
        ("127.0.0.1.nip.io:4566", 4566, False),
        ("localhost.attacker.example:4566", 4566, False),
        ("192.168.1.5:4566", 4566, False),
        ("[::1]x:4566", 4566, False),
        ("", 4566, False),
        (None, 4566, False),
    ],
)
def test_only_loopback_names_with_this_port_are_accepted(host: str | None, port: int, ok: bool) -> None:
    assert trust.host_is_loopback(host, port) is ok


def test_browser_headers_are_refused_and_a_user_typed_url_is_not() -> None:
    base = {"host": "127.0.0.1:4566"}
    assert trust.browser_refusal(base, 4566) is None
    assert trust.browser_refusal({**base, "sec-fetch-site": "none"}, 4566) is None
    assert "Origin" in (trust.browser_refusal({**base, "origin": "null"}, 4566) or "")
    for site in ("cross-site", "same-site", "same-origin"):
        assert "Sec-Fetch-Site" in (trust.browser_refusal({**base, "sec-fetch-site": site}, 4566) or "")


def test_what_counts_as_signed() -> None:
    assert trust.is_signed("POST", "", SIGNED)
    assert not trust.is_signed("POST", "", {})
    assert not trust.is_signed("POST", "", {"authorization": "Bearer x"})
    presigned = "X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    assert trust.is_signed("GET", presigned, {})
    assert not trust.is_signed("POST", presigned, {})  # a form can POST anywhere; S3 presigns no POST URL
    assert not trust.is_signed("GET", presigned + "&Action=CreateUser", {})  # an <img> GET to a Query API


def test_the_door_binds_loopback_only(tmp_path: Path) -> None:
    assert trust.is_loopback_bind("127.0.0.1") and trust.is_loopback_bind("localhost")
    assert not trust.is_loopback_bind("0.0.0.0") and not trust.is_loopback_bind("192.168.1.5")
    with pytest.raises(ValueError, match="loopback only"):
        FrontDoor(0, FrontDoorOptions(host="0.0.0.0", cache_dir=tmp_path, publish_in_flight=False))


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontDoor]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "local")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.delenv("MOTO_PORT", raising=False)
        door = serve(0, FrontDoorOptions(cache_dir=tmp_path_factory.mktemp("cache"), publish_in_flight=False))
        try:
            client(door, "s3").create_bucket(Bucket=BUCKET)
            yield door
        finally:
            door.close()
            moto_api_backend.reset()


def client(door: FrontDoor, service: str, url: str | None = None) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=url or door.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


def _keys(door: FrontDoor) -> list[str]:
    return [o["Key"] for o in client(door, "s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_real_clients_are_served_under_every_loopback_name(door: FrontDoor) -> None:
    for url in (door.url, f"http://localhost:{door.port}"):
        client(door, "s3", url).put_object(Bucket=BUCKET, Key=f"ok-{url[7:10]}", Body=b"x")
    assert httpx.get(f"{door.url}{STATS_PATH}").status_code == 200  # `axon get`'s statistics take no signature


def test_a_rebound_host_is_refused_before_any_service_sees_it(door: FrontDoor) -> None:
    """DNS rebinding: the page's own name now resolves to 127.0.0.1, so the request arrives with its Host."""
    answer = httpx.put(
        f"{door.url}/{BUCKET}/rebound.tar.gz", content=b"bundle", headers={"host": "attacker.example", **SIGNED}
    )
    assert answer.status_code == 403
    assert b"<Code>AccessDenied</Code>" in answer.content and b"attacker.example" in answer.content
    assert "rebound.tar.gz" not in _keys(door)


def test_a_browser_form_post_cannot_upload_a_bundle(door: FrontDoor) -> None:
    """What ``<form method=post enctype=multipart/form-data action=http://127.0.0.1:4566/axon-models>`` sends."""
    form = {"key": "apis/evil/bundle.tar.gz"}
    files = {"file": ("bundle.tar.gz", b"bundle", "application/gzip")}
    with_origin = httpx.post(f"{door.url}/{BUCKET}", data=form, files=files, headers={"origin": "https://evil.test"})
    assert with_origin.status_code == 403 and b"AccessDenied" in with_origin.content
    # A browser that sends no Origin (old ones) still cannot sign: refused as AWS refuses an anonymous write.
    unsigned = httpx.post(f"{door.url}/{BUCKET}", data=form, files=files)
    assert unsigned.status_code == 403 and b"<Code>AccessDenied</Code>" in unsigned.content
    assert "apis/evil/bundle.tar.gz" not in _keys(door)


def test_cross_site_fetch_metadata_is_refused(door: FrontDoor) -> None:
    answer = httpx.get(f"{door.url}{STATS_PATH}", headers={"sec-fetch-site": "cross-site"})
    assert answer.status_code == 403


def test_an_origin_on_a_signed_call_is_refused_in_the_services_own_error_shape(door: FrontDoor) -> None:
    lam, dynamodb, iam = client(door, "lambda"), client(door, "dynamodb"), client(door, "iam")
    for service in (lam, dynamodb, iam):
        service.meta.events.register("before-sign.*.*", _add_origin)
    calls = ((lam.list_functions, "AccessDeniedException"), (dynamodb.list_tables, "AccessDeniedException"))
    for call, code in (*calls, (iam.list_roles, "AccessDenied")):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == code
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _add_origin(request: Any, **_: Any) -> None:
    request.headers["Origin"] = "http://attacker.example"


@pytest.mark.parametrize(
    ("request_args", "code"),
    [
        (
            {"method": "GET", "url": "/?Action=CreateUser&UserName=img&Version=2010-05-08"},
            b"MissingAuthenticationToken",
        ),
        (
            {"method": "GET", "url": "/?Action=CreateUser&UserName=img&X-Amz-Signature=0&X-Amz-Credential=a"},
            b"MissingAuthenticationToken",
        ),
        (
            {"method": "POST", "url": "/", "headers": {"x-amz-target": "DynamoDB_20120810.ListTables"}},
            b'"__type": "MissingAuthenticationTokenException"',
        ),
        ({"method": "GET", "url": "/moto-api/data.json"}, b"AccessDenied"),  # moto's API: control port only
    ],
)
def test_unsigned_aws_calls_are_refused(door: FrontDoor, request_args: dict[str, Any], code: bytes) -> None:
    args = {**request_args, "url": door.url + request_args["url"]}
    answer = httpx.request(**args)
    assert answer.status_code == 403
    assert code in answer.content


def test_the_control_port_follows_the_same_rules(door: FrontDoor) -> None:
    assert httpx.get(f"{door.control_url}/moto-api/data.json").status_code == 200
    origin = httpx.get(f"{door.control_url}/moto-api/data.json", headers={"origin": "http://attacker.example"})
    assert origin.status_code == 403
    public_port = httpx.get(f"{door.control_url}/moto-api/data.json", headers={"host": f"127.0.0.1:{door.port}"})
    assert public_port.status_code == 403  # the Host must name the port the request reached


def test_websockets_are_refused(door: FrontDoor) -> None:
    """Browsers open WebSockets to any host with no CORS check; no service here speaks WebSocket."""
    handshake = (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{door.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as raw:
        raw.sendall(handshake)
        status_line = raw.recv(4096).split(b"\r\n", 1)[0]
    assert b" 101 " not in status_line and b" 403 " in status_line
