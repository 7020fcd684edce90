"""Who may talk to the local stack: this machine's user through real AWS clients, never a web page.

The stack serves every AWS API with well-known dummy credentials and runs what it is sent (bundles roll out and
serve, Lambda handlers run in-process), so any request it accepts is acted on. Browsers are the risk: a page can
send requests to ``127.0.0.1`` directly, or rebind its own hostname to it (DNS rebinding) and then read the
answers. Every request is therefore checked, on every port the front door listens on, before a service sees it:

* **Host** must be a loopback name with the port the request arrived on (``localhost``, ``*.localhost``,
  ``127.0.0.1``, ``[::1]``): a rebound page sends its own hostname.
* No **Origin**, and no **Sec-Fetch-Site** other than ``none``: real AWS clients send neither, browsers send them
  with every cross-site (and every non-GET) request.
* A **SigV4 signature** (the ``Authorization`` header, or a presigned S3 URL without ``Action``): boto3, the AWS CLI
  and the SDKs always sign, a browser cannot set the header cross-site. The front door names the few unsigned
  requests it serves (the local ALB, request statistics, moto's API on the control port).

A refusal is answered in the shape the real service uses for an access denial, so clients report it as they would
on AWS, and it is logged with its reason.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qs

from axon import names
from axon.functions import ALL_FUNCTIONS

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_REST_JSON_PATH = re.compile(
    r"^/(\d{4}-\d{2}-\d{2}/|endpoints/[^/]+/invocations(-response-stream)?$)"
)  # Lambda, sagemaker-runtime
_FORM = "application/x-www-form-urlencoded"


def provisioned_handlers() -> dict[str, str]:
    """Function name -> handler of every function :func:`axon_local.provision.provision` and the local ECS world
    create: the only ones the local stack lets anyone create or invoke."""
    handlers = {function.function_name: function.handler for function in ALL_FUNCTIONS}
    # AxonEcs's smoke-test function, created with the local ECS world (axon_local.ecs.world).
    handlers[names.ECS_SMOKE_FUNCTION] = f"lambdas.{names.ECS_SMOKE_MODULE}.handler"
    return handlers


def is_loopback_bind(host: str) -> bool:
    """Whether binding ``host`` keeps the socket off the network."""
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_is_loopback(host: str | None, port: int) -> bool:
    """``Host`` names this machine's loopback and the port the request reached (port 80 may go unsaid)."""
    if not host:
        return False
    value = host.lower()
    if value.startswith("["):  # an IPv6 literal: "[::1]" or "[::1]:4566"
        name, _, rest = value.partition("]")
        name += "]"
        if rest and not rest.startswith(":"):
            return False
        given_port = rest[1:]
    else:
        name, _, given_port = value.partition(":")
    if (given_port or "80") != str(port):
        return False
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def browser_refusal(headers: Mapping[str, str], port: int) -> str | None:
    """Why a request that looks like it came from a web page, or reached us under another name, is refused."""
    if not host_is_loopback(headers.get("host"), port):
        return f"Host {headers.get('host')!r} is not this machine's loopback on port {port} (DNS rebinding?)"
    if "origin" in headers:
        return f"a browser's Origin header ({headers['origin']!r}): web pages may not call the local stack"
    site = headers.get("sec-fetch-site")
    if site is not None and site != "none":
        return f"a browser's Sec-Fetch-Site: {site}: web pages may not call the local stack"
    return None


def is_signed(method: str, query: str, headers: Mapping[str, str]) -> bool:
    """A SigV4 ``Authorization`` header, or an S3 presigned URL (query signature, no ``Action``, no body form)."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-") and "Credential=" in authorization:
        return True
    params = parse_qs(query, keep_blank_values=True)
    presigned = "X-Amz-Signature" in params and "X-Amz-Credential" in params
    return presigned and method in ("GET", "HEAD", "PUT", "DELETE") and "Action" not in params


@dataclass(frozen=True)
class Refusal:
    """An answer in the shape the service the request was meant for uses for its errors."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def access_denied(path: str, query: str, headers: Mapping[str, str], message: str) -> Refusal:
    """403 ``AccessDeniedException`` (JSON protocols) or ``AccessDenied`` (XML ones), as AWS answers a denial."""
    return _error(path, query, headers, "AccessDeniedException", "AccessDenied", message)


def missing_signature(path: str, query: str, headers: Mapping[str, str]) -> Refusal:
    """403 as AWS answers an unsigned request: ``MissingAuthenticationToken`` (S3: ``AccessDenied``)."""
    if _protocol(path, query, headers) == "s3":
        return _error(path, query, headers, "", "AccessDenied", "Access Denied")
    message = "Missing Authentication Token"
    return _error(path, query, headers, "MissingAuthenticationTokenException", "MissingAuthenticationToken", message)


def log_refusal(scope: Mapping[str, Any], reason: str) -> None:
    client = scope.get("client") or ("?", 0)
    logger.warning("refused %s %s from %s:%s: %s", scope.get("method"), scope.get("path"), *client[:2], reason)


def _protocol(path: str, query: str, headers: Mapping[str, str]) -> str:
    if "x-amz-target" in headers:
        return "json"
    if _REST_JSON_PATH.match(path):
        return "rest-json"
    if "Action" in parse_qs(query) or headers.get("content-type", "").startswith(_FORM):
        return "query"
    return "s3"


def _error(path: str, query: str, headers: Mapping[str, str], json_code: str, xml_code: str, message: str) -> Refusal:
    request_id = str(uuid.uuid4())
    protocol = _protocol(path, query, headers)
    common = [(b"x-amzn-requestid", request_id.encode())]
    if protocol == "json":
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return Refusal(403, [(b"content-type", b"application/x-amz-json-1.1"), *common], body)
    if protocol == "rest-json":
        body = json.dumps({"Type": "User", "message": message}).encode()
        kind = [(b"x-amzn-errortype", json_code.encode()), (b"content-type", b"application/json")]
        return Refusal(403, [*kind, *common], body)
    text = _xml_escape(message)
    if protocol == "query":
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{xml_code}</Code><Message>{text}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    else:
        xml = f"<Error><Code>{xml_code}</Code><Message>{text}</Message><RequestId>{request_id}</RequestId></Error>"
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + xml.encode()
    return Refusal(403, [(b"content-type", b"application/xml"), (b"x-amz-request-id", request_id.encode())], body)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
