"""sagemaker-runtime ``InvokeEndpoint`` and ``InvokeEndpointWithResponseStream`` on the router: retries that lose no request, AWS-shaped errors.

A request that could not reach a replica (connection refused, or the replica was being stopped) is sent to
another one, so a rollout or a scale-in never fails a client. A model's own non-2xx answer, or a model that
dies while answering, is final (retrying a request that kills its server would kill the fleet) and comes back
as ``ModelError`` (HTTP 424) with ``OriginalStatusCode`` and ``OriginalMessage``, as SageMaker sends it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from axon_local.asgi import ReplicaClient
from axon_local.dataplane.eventstream import STREAM_CONTENT_TYPE, exception_event, payload_parts
from axon_local.dataplane.router import EndpointNotFoundError, Replica, ReplicaState, Router, VariantNotFoundError

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's documented request limit
MODEL_TIMEOUT_SECONDS = 60.0  # SageMaker waits 60 s for a real-time container's answer


def async_refusal_message(endpoint: str) -> str:
    """axon's wording (SageMaker's own is not documented): the error names the API to use instead."""
    return f"Endpoint {endpoint} is configured for asynchronous inference; use InvokeEndpointAsync."


@dataclass(frozen=True)
class InvokeRequest:
    endpoint: str
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    target_variant: str | None = None
    custom_attributes: str | None = None
    # The async queue's requests: inputs of up to 1 GB and the request's InvocationTimeoutSeconds (SageMaker's
    # async limits) instead of InvokeEndpoint's 6 MB and 60 s.
    max_body_bytes: int = MAX_PAYLOAD_BYTES
    timeout_seconds: float = MODEL_TIMEOUT_SECONDS


@dataclass(frozen=True)
class InvokeResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class StreamingResponse:
    """A 200 whose body is a sequence of event-stream messages, sent as they come (chunked)."""

    headers: dict[str, str]
    events: AsyncIterator[bytes]


class RuntimeService:
    """Owns the HTTP client to the replicas; create and close it on the serving event loop."""

    def __init__(
        self,
        router: Router,
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
        retry_window_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._router = router
        self._account = account
        self._region = region
        self._window = retry_window_seconds  # how long a request may wait for a reachable replica
        self._http = ReplicaClient(MODEL_TIMEOUT_SECONDS, transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _error(self, status: int, code: str, message: str, **extra: object) -> InvokeResponse:
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())}
        return InvokeResponse(status, headers, json.dumps({"message": message, **extra}).encode())

    def _model_error(self, endpoint: str, status: int, text: str) -> InvokeResponse:
        kind = "client" if 400 <= status < 500 else "server"
        log_stream = f"arn:aws:logs:{self._region}:{self._account}:log-group:/aws/sagemaker/Endpoints/{endpoint}"
        message = (
            f'Received {kind} error ({status}) from primary with message "{text}". See {log_stream} '
            f"in account {self._account} for more information."
        )
        return self._error(
            424,
            "ModelError",
            message,
            ErrorCode=f"{kind.upper()}_ERROR_FROM_MODEL",
            OriginalStatusCode=status,
            OriginalMessage=text,
            LogStreamArn=log_stream,
        )

    def asynchronous_refusal(self, endpoint: str) -> InvokeResponse | None:
        """SageMaker's 400 for InvokeEndpoint(WithResponseStream) on an async endpoint, or ``None`` for a real-time
        one. The front door asks before :meth:`invoke`; the async queue calls :meth:`invoke` itself, unrefused."""
        if not self._router.is_asynchronous(endpoint):
            return None
        return self._error(400, "ValidationError", async_refusal_message(endpoint))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        sent = await self._exchange(request, stream=False)
        if isinstance(sent, InvokeResponse):
            return sent
        replica, answer, started = sent
        self._router.release(replica, answer.status_code, time.monotonic() - started)
        if not 200 <= answer.status_code < 300:
            return self._model_error(request.endpoint, answer.status_code, answer.text)
        out = {
            "Content-Type": answer.headers.get("content-type", "application/json"),
            "x-Amzn-Invoked-Production-Variant": replica.variant,
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        if "x-amzn-sagemaker-custom-attributes" in answer.headers:
            out["X-Amzn-SageMaker-Custom-Attributes"] = answer.headers["x-amzn-sagemaker-custom-attributes"]
        return InvokeResponse(200, out, answer.content)

    async def invoke_stream(self, request: InvokeRequest) -> InvokeResponse | StreamingResponse:
        """InvokeEndpointWithResponseStream: the replica's body, as it arrives, in ``PayloadPart`` events.

        Until the replica's status line the rules are InvokeEndpoint's (retries, ``ModelError`` for a non-2xx);
        after it, a broken or stalled body ends the stream with a ``ModelStreamError`` event (``StreamBroken``,
        ``ModelInvocationTimeExceeded``), as SageMaker's front end does. The replica stays reserved (so a drain
        waits for it) until the stream ends.
        """
        sent = await self._exchange(request, stream=True)
        if isinstance(sent, InvokeResponse):
            return sent
        replica, answer, started = sent
        if not 200 <= answer.status_code < 300:
            try:
                text = (await answer.aread()).decode("utf-8", "replace")
            finally:
                await answer.aclose()
                self._router.release(replica, answer.status_code, time.monotonic() - started)
            return self._model_error(request.endpoint, answer.status_code, text)
        headers = {
            "Content-Type": STREAM_CONTENT_TYPE,
            "X-Amzn-SageMaker-Content-Type": answer.headers.get("content-type", "application/octet-stream"),
            "x-Amzn-Invoked-Production-Variant": replica.variant,
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        if "x-amzn-sagemaker-custom-attributes" in answer.headers:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = answer.headers["x-amzn-sagemaker-custom-attributes"]
        return StreamingResponse(headers, self._events(replica, answer, started))

    async def _events(self, replica: Replica, answer: httpx.Response, started: float) -> AsyncIterator[bytes]:
        status = 200
        try:
            async for chunk in answer.aiter_raw():
                for event in payload_parts(chunk):
                    yield event
        except httpx.TimeoutException:
            status = 500
            message = f"The model did not send the next part within {MODEL_TIMEOUT_SECONDS:g} s."
            yield exception_event("ModelStreamError", message, "ModelInvocationTimeExceeded")
        except httpx.TransportError as error:
            status = 500
            if replica.process.exit_code() is not None:
                self._router.mark_failed(replica)
            message = f"The connection to the container broke during the response stream: {error!r}"
            yield exception_event("ModelStreamError", message, "StreamBroken")
        finally:
            await answer.aclose()
            self._router.release(replica, status, time.monotonic() - started)

    async def _exchange(
        self, request: InvokeRequest, *, stream: bool
    ) -> InvokeResponse | tuple[Replica, httpx.Response, float]:
        """Send ``request`` to a replica, retrying those it never reached; the reserved replica and its answer
        (whole, or only its status and headers when ``stream``), or the AWS-shaped error to return."""
        if len(request.body) > request.max_body_bytes:
            limit = request.max_body_bytes / 1024**2
            return self._error(400, "ValidationError", f"Request payload is too large (limit {limit:g} MB).")
        headers = {"Content-Type": request.content_type or "application/octet-stream"}
        if request.accept:
            headers["Accept"] = request.accept
        if request.custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = request.custom_attributes
        deadline = time.monotonic() + self._window
        tried: set[int] = set()
        while True:
            try:
                replica = self._router.pick(request.endpoint, request.target_variant, tried)
            except EndpointNotFoundError:
                return self._error(
                    400, "ValidationError", f"Endpoint {request.endpoint} of account {self._account} not found."
                )
            except VariantNotFoundError:
                return self._error(
                    400,
                    "ValidationError",
                    f"Target variant {request.target_variant} not found for endpoint {request.endpoint}.",
                )
            if replica is None:
                if time.monotonic() >= deadline:
                    return self._error(
                        503, "ServiceUnavailable", f"No instance of endpoint {request.endpoint} is available."
                    )
                tried.clear()  # every replica was tried once: try them again until the window closes
                await asyncio.sleep(0.05)
                continue
            started = time.monotonic()
            client = self._http()
            try:
                outgoing = client.build_request(
                    "POST", replica.url, content=request.body, headers=headers, timeout=request.timeout_seconds
                )
                return replica, await client.send(outgoing, stream=stream), started
            except httpx.TimeoutException:
                self._router.release(replica, 500, time.monotonic() - started)
                return self._model_error(
                    request.endpoint,
                    0,
                    "Your invocation timed out while waiting for a response from container primary.",
                )
            except httpx.ConnectError:  # never delivered: the replica is gone or not listening any more
                self._router.release(replica, 0, 0.0, count=False)
                if replica.process.exit_code() is not None:
                    self._router.mark_failed(replica)
                tried.add(id(replica))
                continue
            except httpx.TransportError as error:
                if replica.state is ReplicaState.DRAINING:  # we stopped it under the request: send it elsewhere
                    self._router.release(replica, 0, 0.0, count=False)
                    tried.add(id(replica))
                    continue
                # The model died or broke the connection while answering: final, as a SageMaker container's.
                self._router.release(replica, 500, time.monotonic() - started)
                if replica.process.exit_code() is not None:
                    self._router.mark_failed(replica)
                return self._model_error(request.endpoint, 0, f"The connection to the container failed: {error!r}")
