"""The local ALB's data plane: ``/apis/<api>/...`` on the local port, routed as the listener's rules say.

moto stores the listener, its rules and their weights but routes nothing. The agent (:mod:`axon_local.ecs.agent`)
mirrors the rules into a :class:`RouteTable` every poll (:class:`RouteMirror`); this ASGI app answers with it as
the ALB would:

* a request carrying ``X-Axon-Version: <label>`` and ``X-Axon-Test-Token: <secret>`` that a test rule names goes
  to that version only (the version header alone does not: the secret is what keeps green private);
* any other request on a rule's path (``/apis/<api>/invocations``) goes through the production rule's weighted
  forward (the router picks a target group by weight, then the replica with the fewest outstanding requests);
* the rule's ``url-rewrite`` (``^/apis/<api>/(.*)$`` -> ``/$1``) is applied, so the runtime sees ``/invocations``;
* no matching rule: the listener's default action (AxonEcs: a fixed 404).

The target's answer comes back as it is (status, headers, body): an ALB does not wrap errors as SageMaker does.
Where the ALB itself answers, it does so with its status codes: 503 when the target groups have no healthy
target, 502 when a target broke the connection, 504 when it did not answer within the idle timeout. A request
that never reached a replica (connection refused, replica being stopped) is sent to another one within a short
window: the local stand-in for the ALB's connection draining, so a rollout or a scale-in loses no request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from axon import names
from axon.platforms.ecs import listener as ecs_listener
from axon_local.asgi import ReplicaClient, read_body, respond
from axon_local.dataplane.router import EndpointNotFoundError, Replica, ReplicaState, Router
from axon_local.ecs.listener import FixedResponse, ListenerView, TestKey, Weights
from axon_local.sagemaker.ports import Fleet, FleetShare

logger = logging.getLogger(__name__)
Scope = dict[str, Any]
_PATH = re.compile(r"^/apis/([a-z0-9-]{1,40})(/.*)$")  # the production rule's /apis/<api>/* and its rewrite
_VERSION_HEADER = ecs_listener.VERSION_HEADER.lower()
_TOKEN_HEADER = ecs_listener.TEST_TOKEN_HEADER.lower()
# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy recomputes: never forwarded in either direction.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",  # httpx hands over the decoded body
    }
)
IDLE_TIMEOUT_SECONDS = 60.0  # the ALB's default idle timeout: a target silent for longer gets a 504


@dataclass(frozen=True)
class _Upstream:
    """A target's answer whose body is still to be read, and the replica reserved for it."""

    replica: Replica
    response: httpx.Response
    started: float


async def _relay(router: Router, upstream: _Upstream, send: Any, receive: Any) -> None:
    """The target's body passed through as it arrives, as the ALB does: a chunked answer (a streaming predictor)
    reaches the client chunk by chunk. A body the target breaks off, or that stalls past the idle timeout, is cut
    for the client too (the connection is closed without the end of the body); a client that leaves stops it."""
    response = upstream.response
    out = [(k.encode(), v.encode()) for k, v in response.headers.multi_items() if k.lower() not in _HOP]
    if "content-length" in response.headers and "content-encoding" not in response.headers:
        out.append((b"content-length", response.headers["content-length"].encode()))
    status, complete = response.status_code, False
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await send({"type": "http.response.start", "status": status, "headers": out})
        async for chunk in response.aiter_bytes():
            if gone.done():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            complete = True
    except httpx.TransportError:  # the target broke the connection, or went silent, after its status line
        status = 502
    finally:
        gone.cancel()
        await response.aclose()
        router.release(upstream.replica, status, time.monotonic() - upstream.started)
    if complete:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    # Otherwise return without the last message: uvicorn closes the connection, the client sees the cut.


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@dataclass(frozen=True)
class RouteTable:
    """One poll's view of the listener: which router answers a request, or the default action."""

    router: Router  # holds every ECS fleet; routes ``axon-<api>`` by the production rule's weights
    production: frozenset[str] = frozenset()  # APIs with a production rule
    tests: Mapping[TestKey, Router] = field(default_factory=dict)  # (api, label, secret) -> router
    default: FixedResponse = field(default_factory=FixedResponse)
    paths: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)  # api -> its rules' paths

    def router_for(self, api: str, path: str, headers: Mapping[str, str]) -> Router | None:
        """A request on one of the API's rule paths: the test rule when both its headers match (it has the lower
        priority number), else the production rule; ``None``: the listener's default action."""
        if not any(regex.match(path) for regex in self.paths.get(api, ())):
            return None
        version, token = headers.get(_VERSION_HEADER), headers.get(_TOKEN_HEADER)
        if version is not None and token is not None and (key := (api, version.lower(), token.lower())) in self.tests:
            return self.tests[key]
        return self.router if api in self.production else None


class RouteMirror:
    """The listener's rules made true on the router, each poll: production routes by weight, one router per test
    rule holding the same replicas as the fleet's, and the :class:`RouteTable` the ALB answers with."""

    def __init__(self, router: Router, fleet: Fleet) -> None:
        self._router = router
        self._fleet = fleet
        self._routes: dict[str, tuple[FleetShare, ...]] = {}  # production routes set on the router
        self._tests: dict[TestKey, Router] = {}
        self._warned: set[str] = set()  # rules already warned about (once each)
        self.table = RouteTable(router)

    def mirror(self, view: ListenerView, fleets: Mapping[str, str]) -> RouteTable:
        """Route by ``view``; ``fleets`` maps each target group a service runs to its fleet id."""
        for rule in view.unsupported:
            if rule not in self._warned:
                self._warned.add(rule)
                logger.warning("listener rule %s is not one axon creates; the local ALB does not route it", rule)
        production = {names.endpoint_name(api): _shares(w, fleets) for api, w in view.production.items()}
        for endpoint in set(self._routes) - set(production):
            self._fleet.route(endpoint, [])  # the API's rule is gone: stop routing, forget its statistics
        for endpoint, shares in production.items():
            if self._routes.get(endpoint) != shares:
                self._router.set_routes(endpoint, shares)
        self._routes = production
        tests: dict[TestKey, Router] = {}
        for key, weights in view.tests.items():
            router = self._tests.get(key) or Router(self._router.stats)
            shares = _shares(weights, fleets)
            for share in shares:
                # The test rule's router holds the same replicas as the fleet's (same objects: one outstanding
                # count and state each), refreshed when the fleet changed.
                current = self._router.replicas(share.fleet_id)
                if {id(r) for r in router.replicas(share.fleet_id)} != {id(r) for r in current}:
                    router.remove_fleet(share.fleet_id)
                    router.add_replicas(share.fleet_id, names.VARIANT_NAME, current)
            router.set_routes(names.endpoint_name(key[0]), shares)
            tests[key] = router
        self._tests = tests
        self.table = RouteTable(self._router, frozenset(view.production), tests, view.default, view.paths)
        return self.table


def _shares(weights: Weights, fleets: Mapping[str, str]) -> tuple[FleetShare, ...]:
    """Target-group weights as the router's fleet shares; target groups no service runs get nothing."""
    total = sum(weight for _, weight in weights)
    return tuple(
        FleetShare(fleets[group], weight / total, {names.VARIANT_NAME: 1.0})
        for group, weight in weights
        if weight > 0 and group in fleets
    )


def _page(status: int, reason: str) -> bytes:
    """The small HTML page an ALB sends with the errors it generates itself."""
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


class LocalAlb:
    """ASGI app for the requests :meth:`handles` claims; ``table()`` returns the agent's current routes, and
    ``refresh()`` reads the rules again before a request is answered with the default action."""

    def __init__(
        self,
        table: Callable[[], RouteTable],
        refresh: Callable[[], RouteTable],
        *,
        port: int,
        retry_window_seconds: float = 10.0,
        idle_timeout_seconds: float = IDLE_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._table = table
        self._refresh = refresh  # re-reads the rules (blocking: run on a worker thread)
        self._port = port
        self._window = retry_window_seconds
        self._http = ReplicaClient(idle_timeout_seconds, transport)

    @staticmethod
    def handles(path: str, headers: Mapping[str, str]) -> bool:
        """``/apis/...`` without a SigV4 signature: an ALB client, not an AWS API call for moto."""
        return path.startswith("/apis/") and "aws4_request" not in headers.get("authorization", "")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        match = _PATH.match(scope["path"])
        table = self._table()
        router = table.router_for(match.group(1), scope["path"], headers) if match else None
        if match is not None and router is None:
            table = await asyncio.to_thread(self._refresh)
            router = table.router_for(match.group(1), scope["path"], headers)
        if match is None or router is None:
            default = table.default
            content_type = [(b"content-type", default.content_type.encode())]
            return await respond(send, default.status, content_type, default.body.encode())
        body = await read_body(receive)
        answer = await self._forward(router, match.group(1), match.group(2), scope, body)
        if isinstance(answer, tuple):
            return await respond(send, *answer)
        await _relay(router, answer, send, receive)

    def _request_headers(self, scope: Scope) -> list[tuple[str, str]]:
        forwarded = [
            (k.decode(), v.decode())
            for k, v in scope["headers"]
            if k.decode().lower() not in _HOP | {"x-forwarded-for"}
        ]
        client = (scope.get("client") or ("127.0.0.1", 0))[0]
        prior = [v.decode() for k, v in scope["headers"] if k.decode().lower() == "x-forwarded-for"]
        trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        return [
            *forwarded,
            ("X-Forwarded-For", ", ".join([*prior, client])),
            ("X-Forwarded-Proto", scope.get("scheme", "http")),
            ("X-Forwarded-Port", str(self._port)),
            ("X-Amzn-Trace-Id", trace),
        ]

    async def _forward(
        self, router: Router, api: str, path: str, scope: Scope, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | _Upstream:
        """Send the request to one replica, retrying those it never reached: the target's answer, its status and
        headers read and its body still to come (the replica stays reserved until :func:`_relay` ends), or the
        ALB's own error."""
        endpoint = names.endpoint_name(api)
        query = scope.get("query_string", b"").decode()
        headers = self._request_headers(scope)
        alb = [(b"server", b"awselb/2.0"), (b"content-type", b"text/html")]
        deadline = time.monotonic() + self._window
        tried: set[int] = set()
        while True:
            try:
                replica = router.pick(endpoint, None, tried)
            except EndpointNotFoundError:  # the rule forwards to target groups with no weight or no fleet yet
                replica = None
            if replica is None:
                if time.monotonic() >= deadline:
                    return 503, alb, _page(503, "Service Temporarily Unavailable")
                tried.clear()  # every replica was tried once: try them again until the window closes
                await asyncio.sleep(0.05)
                continue
            url = f"http://127.0.0.1:{replica.process.port}{path}" + (f"?{query}" if query else "")
            started = time.monotonic()
            client = self._http()
            try:
                outgoing = client.build_request(scope["method"], url, content=body, headers=headers)
                return _Upstream(replica, await client.send(outgoing, stream=True), started)
            except httpx.TimeoutException:
                router.release(replica, 504, time.monotonic() - started)
                return 504, alb, _page(504, "Gateway Time-out")
            except httpx.ConnectError:  # never delivered: the replica is gone or not listening any more
                self._not_delivered(router, replica, tried)
                continue
            except httpx.TransportError:
                if replica.state is ReplicaState.DRAINING:  # stopped under the request: send it elsewhere
                    self._not_delivered(router, replica, tried)
                    continue
                router.release(replica, 502, time.monotonic() - started)
                if replica.process.exit_code() is not None:
                    router.mark_failed(replica)
                return 502, alb, _page(502, "Bad Gateway")

    @staticmethod
    def _not_delivered(router: Router, replica: Replica, tried: set[int]) -> None:
        router.release(replica, 0, 0.0, count=False)
        if replica.process.exit_code() is not None:
            router.mark_failed(replica)
        tried.add(id(replica))
