"""The queue poller of ``axon-serve`` in worker mode: an ECS async API's requests, from SQS to S3 and SNS.

It long-polls the API's queue (``WaitTimeSeconds`` 20) while it holds fewer than ``max_concurrency`` requests, and
for each message (:class:`axon.async_message.AsyncRequest`): reads the input from S3 (sized first, at most
``names.ASYNC_MAX_INPUT_BYTES``), calls the model through the process's own ``/invocations``, writes the answer to
``OutputLocation`` (or the error to ``FailureLocation``), publishes a SageMaker-shaped notification to the success
or error topic, and only then deletes the message. Delivery is at-least-once: a worker that dies (or whose model
server stops answering) mid-request leaves the message, which SQS delivers again once its visibility timeout ends;
the worker keeps extending that timeout while the model runs. A message that cannot be a request of this API, or
keeps failing, goes back at once and ends in the dead-letter queue after the queue's ``maxReceiveCount``. An expired
request (older than its ``RequestTTLSeconds``) is a failure outcome. :meth:`QueueWorker.run` stops receiving when
its ``stop`` event is set (SIGTERM) and finishes what it holds; a message received after that is handed back.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from axon import names
from axon.async_message import AsyncRequest, InvalidMessageError, notification, read_input, split_s3_uri

logger = logging.getLogger("axon_serving")
RECEIVE_WAIT_SECONDS = 20  # SQS's longest long poll
_RECEIVE_BATCH = 10  # ReceiveMessage returns at most 10 messages
_RETRY_LATER_SECONDS = 5  # a message the model server could not take is visible again after this, doubled per receive
_METRICS_PERIOD_SECONDS = 60
_JSON = "application/json"


class ServerUnavailableError(Exception):
    """The process's own model server did not answer (stopped, draining, overloaded): leave the message."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


Invoke = Callable[[bytes, str, "str | None"], Answer]


@dataclass(frozen=True)
class WorkerSettings:
    api: str
    version: str
    queue_url: str
    success_topic: str
    error_topic: str
    max_concurrency: int
    visibility_seconds: int
    region: str
    # The largest input worth reading: the model server refuses (413) a body over serving.max_request_bytes, so a
    # larger one is failed from its size alone, never read into this process's memory. At most SageMaker's 1 GB.
    max_input_bytes: int = names.ASYNC_MAX_INPUT_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str], max_concurrency: int, max_input_bytes: int) -> WorkerSettings:
        """What the ECS platform put on the task definition (``names.ASYNC_*_ENV``)."""
        queue_url = env[names.ASYNC_QUEUE_URL_ENV]
        return cls(
            api=env.get("AXON_API", ""),
            version=env.get("AXON_VERSION", ""),
            queue_url=queue_url,
            success_topic=env.get(names.ASYNC_SUCCESS_TOPIC_ENV, ""),
            error_topic=env.get(names.ASYNC_ERROR_TOPIC_ENV, ""),
            max_concurrency=max(1, max_concurrency),
            visibility_seconds=int(env.get(names.ASYNC_VISIBILITY_ENV, "90")),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or names.DEFAULT_REGION,
            max_input_bytes=min(max_input_bytes, names.ASYNC_MAX_INPUT_BYTES),
        )


def http_invoker(port: int, timeout: float) -> Invoke:
    """POST the body to ``127.0.0.1:<port>/invocations`` (the same process's server), as SageMaker would."""

    def invoke(body: bytes, content_type: str, accept: str | None) -> Answer:
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise ServerUnavailableError(f"the model server did not answer: {error}") from error
        finally:
            connection.close()
        if response.status == 503:  # loading, draining or full: not the request's fault
            raise ServerUnavailableError("the model server answered 503")
        return Answer(response.status, data, response.getheader("Content-Type") or "application/octet-stream")

    return invoke


@dataclass
class _Minute:
    """The rollback alarms' input: model errors and latency of this version, one PutMetricData a minute."""

    errors: int = 0
    latencies: list[float] = field(default_factory=list)


def _model_failure(answer: Answer) -> str:
    """SageMaker's wording for a model's non-2xx answer (``ModelError``), with the model's own message."""
    try:
        message = str(json.loads(answer.body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = answer.body[:1000].decode("utf-8", "replace")
    kind = "server" if answer.status >= 500 else "client"
    return f'ModelError: Received {kind} error ({answer.status}) from the model with message "{message}"'


def _receives(message: dict[str, Any]) -> int:
    """How many times SQS has delivered ``message`` (1 on the first), from its ``ApproximateReceiveCount``."""
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))


def retry_delay(receives: int, visibility_seconds: int) -> int:
    """When a message the model server could not take is visible again: 5 s, doubled per delivery, at most one
    visibility timeout, so a server that is down for a minute or two does not spend the request's deliveries.

    >>> [retry_delay(n, 90) for n in range(1, 6)]
    [5, 10, 20, 40, 80]
    """
    return int(min(visibility_seconds, _RETRY_LATER_SECONDS * 2 ** (max(receives, 1) - 1)))


class QueueWorker:
    """One process's poller; clients injected (boto3's, or moto's in tests)."""

    def __init__(
        self,
        settings: WorkerSettings,
        sqs: Any,
        s3: Any,
        sns: Any,
        invoke: Invoke,
        *,
        cloudwatch: Any = None,
        clock: Callable[[], float] = time.time,
        wait_seconds: int = RECEIVE_WAIT_SECONDS,
    ) -> None:
        self.settings = settings
        self._sqs, self._s3, self._sns, self._cloudwatch = sqs, s3, sns, cloudwatch
        self._invoke = invoke
        self._clock = clock
        self._wait_seconds = wait_seconds
        self._held: dict[str, str] = {}  # message id -> receipt handle, while a request is being processed
        self._lock = threading.Condition()
        self._minute = _Minute()
        self._minute_started = clock()

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)

    # ---- the loop ---------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event, drain_seconds: float) -> None:
        """Receive and process until ``stop``; then finish what is held (up to ``drain_seconds``) and return."""
        done = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(done,), name="axon-queue-keeper", daemon=True)
        keeper.start()
        futures: set[Future[None]] = set()
        with ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="axon-queue") as pool:
            while not stop.is_set():
                free = self._wait_for_room(stop)
                if free == 0:
                    continue
                for message in self._receive(free):
                    if stop.is_set():
                        self._release(message["ReceiptHandle"], 0)  # stopping: another consumer takes it now
                        continue
                    with self._lock:
                        self._held[message["MessageId"]] = message["ReceiptHandle"]
                    futures.add(pool.submit(self._work, message))
                futures = {f for f in futures if not f.done()}
            unfinished = wait(futures, timeout=drain_seconds).not_done
            if unfinished:
                logger.warning(
                    "%d request(s) still running after %s s: SQS delivers them again", len(unfinished), drain_seconds
                )
            pool.shutdown(wait=False, cancel_futures=True)
        done.set()
        keeper.join()
        self.flush_metrics()

    def _wait_for_room(self, stop: threading.Event) -> int:
        with self._lock:
            self._lock.wait_for(lambda: len(self._held) < self.settings.max_concurrency or stop.is_set(), 1.0)
            return self.settings.max_concurrency - len(self._held) if not stop.is_set() else 0

    def _receive(self, free: int) -> list[dict[str, Any]]:
        try:
            answer = self._sqs.receive_message(
                QueueUrl=self.settings.queue_url,
                MaxNumberOfMessages=min(_RECEIVE_BATCH, free),
                WaitTimeSeconds=self._wait_seconds,
                VisibilityTimeout=self.settings.visibility_seconds,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
            )
        except Exception:  # throttled, or the network: try again after a pause, never stop the worker
            logger.exception("could not receive from %s", self.settings.queue_url)
            time.sleep(1.0)
            return []
        messages: list[dict[str, Any]] = answer.get("Messages") or []
        return messages

    def _work(self, message: dict[str, Any]) -> None:
        try:
            self.handle(message)
        except ServerUnavailableError as error:
            logger.warning("message %s goes back to the queue: %s", message.get("MessageId"), error)
            self._release(message["ReceiptHandle"], retry_delay(_receives(message), self.settings.visibility_seconds))
        except Exception:  # S3 or SNS failed: the message stays, and SQS delivers it again
            logger.exception("message %s is left for another delivery", message.get("MessageId"))
        finally:
            with self._lock:
                self._held.pop(message.get("MessageId", ""), None)
                self._lock.notify_all()

    def _keep(self, done: threading.Event) -> None:
        """Extend the held messages' visibility every third of it, and publish the metrics once a minute."""
        interval = max(1.0, self.settings.visibility_seconds / 3)
        while not done.wait(interval):
            with self._lock:
                receipts = list(self._held.values())
            for receipt in receipts:
                try:
                    self._sqs.change_message_visibility(
                        QueueUrl=self.settings.queue_url,
                        ReceiptHandle=receipt,
                        VisibilityTimeout=self.settings.visibility_seconds,
                    )
                except Exception:  # deleted meanwhile, or SQS refused: the request still finishes
                    logger.debug("could not extend a message's visibility", exc_info=True)
            if self._clock() - self._minute_started >= _METRICS_PERIOD_SECONDS:
                self.flush_metrics()

    # ---- one message ------------------------------------------------------------------------------------------

    def handle(self, message: dict[str, Any]) -> None:
        """One message end to end; raises (and leaves the message) when the outcome could not be written."""
        receipt = message["ReceiptHandle"]
        try:
            request = AsyncRequest.from_json(message.get("Body", ""), self.settings.api)
        except InvalidMessageError as error:
            count = (message.get("Attributes") or {}).get("ApproximateReceiveCount", "?")
            logger.error("message %s is not a request (receive %s): %s", message.get("MessageId"), count, error)
            self._release(receipt, 0)  # visible again at once: after maxReceiveCount receives SQS moves it to the DLQ
            return
        sent = int((message.get("Attributes") or {}).get("SentTimestamp", 0)) / 1000 or self._clock()
        if self._clock() - sent > request.ttl_seconds:
            reason = f"RequestExpired: the request waited over its RequestTTLSeconds ({request.ttl_seconds} s)"
            self._fail(request, sent, reason, reason.encode())
        else:
            try:
                self._process(request, sent)
            except ServerUnavailableError as error:
                if _receives(message) < names.ASYNC_MAX_RECEIVES:
                    raise  # handed back: another delivery (here or in another task) tries again
                # The last delivery: after it SQS would move the request to the DLQ with no outcome at all.
                reason = f"ServiceUnavailable: the model server could not take the request in {_receives(message)} deliveries ({error})"
                self._fail(request, sent, reason, reason.encode())
        self._sqs.delete_message(QueueUrl=self.settings.queue_url, ReceiptHandle=receipt)

    def _process(self, request: AsyncRequest, sent: float) -> None:
        try:
            body = read_input(self._s3, request.input_location, self.settings.max_input_bytes)
        except InvalidMessageError as error:
            self._fail(request, sent, f"ValidationError: {error}", str(error).encode())
            return
        except ClientError as error:
            reason = f"ClientError: Failed to download the input from {request.input_location}: {error}"
            self._fail(request, sent, reason, reason.encode())
            return
        started = time.perf_counter()
        answer = self._invoke(body, request.content_type, request.accept)
        with self._lock:
            self._minute.latencies.append(time.perf_counter() - started)
            self._minute.errors += int(answer.status >= 500)
        if 200 <= answer.status < 300:
            self._write(request.output_location, answer.body, answer.content_type)
            outcome = {"contentType": answer.content_type, "outputLocation": request.output_location}
            self._notify(self.settings.success_topic, request, sent, outcome)
            return
        self._fail(request, sent, _model_failure(answer), answer.body)

    def _write(self, location: str, body: bytes, content_type: str) -> None:
        bucket, key = split_s3_uri(location)
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def _fail(self, request: AsyncRequest, sent: float, reason: str, detail: bytes) -> None:
        self._write(request.failure_location, detail or reason.encode(), _JSON)
        self._notify(self.settings.error_topic, request, sent, {"failureLocation": request.failure_location}, reason)

    def _notify(
        self, topic: str, request: AsyncRequest, sent: float, response: dict[str, str], failure: str | None = None
    ) -> None:
        """SageMaker's notification body (docs/async.md), published after the outcome is in S3."""
        if not topic:
            return
        body = notification(
            region=self.settings.region,
            endpoint=names.endpoint_name(self.settings.api),
            inference_id=request.inference_id,
            content_type=request.content_type,
            input_location=request.input_location,
            received=sent,
            now=self._clock(),
            response=response,
            failure_reason=failure,
        )
        self._sns.publish(TopicArn=topic, Message=json.dumps(body))

    def _release(self, receipt: str, seconds: int) -> None:
        """Hand a message back: visible again after ``seconds`` (its receive count stays, for the DLQ)."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url, ReceiptHandle=receipt, VisibilityTimeout=seconds
            )
        except Exception:  # it becomes visible when its timeout ends anyway
            logger.debug("could not hand a message back", exc_info=True)

    # ---- metrics ----------------------------------------------------------------------------------------------

    def flush_metrics(self) -> None:
        """This version's model errors and latency in ``Axon/Api/<api>`` by ``Version`` (the rollback alarms)."""
        with self._lock:
            minute, self._minute = self._minute, _Minute()
            self._minute_started = self._clock()
        if self._cloudwatch is None or not minute.latencies:
            return
        dimensions = [{"Name": names.ASYNC_WORKER_VERSION_DIMENSION, "Value": self.settings.version}]
        stamp = datetime.fromtimestamp(self._clock(), UTC)
        latencies = minute.latencies
        try:
            self._cloudwatch.put_metric_data(
                Namespace=names.api_metric_namespace(self.settings.api),
                MetricData=[
                    {
                        "MetricName": names.ASYNC_WORKER_ERRORS_METRIC,
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "Value": float(minute.errors),
                        "Unit": "Count",
                    },
                    {
                        "MetricName": names.ASYNC_WORKER_LATENCY_METRIC,
                        "Dimensions": dimensions,
                        "Timestamp": stamp,
                        "StatisticValues": {
                            "SampleCount": float(len(latencies)),
                            "Sum": sum(latencies),
                            "Minimum": min(latencies),
                            "Maximum": max(latencies),
                        },
                        "Unit": "Seconds",
                    },
                ],
            )
        except Exception:  # metrics must never stop the worker
            logger.warning("could not publish the async metrics", exc_info=True)
