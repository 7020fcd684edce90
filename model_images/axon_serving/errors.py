"""Serving errors: each maps to one HTTP status and carries a stable code for the JSON error body."""

from __future__ import annotations

import sys

from axon.errors import AxonError
from axon.names import MODEL_LOAD_FAILED_MARKER


class ServingError(AxonError):
    """A request or the runtime failed in a way the caller can act on; ``status`` is the HTTP status."""

    code = "serving.error"
    status = 500


class BadRequestError(ServingError):
    code = "serving.bad_request"
    status = 400


class NotFoundError(ServingError):
    code = "serving.not_found"
    status = 404


class MethodNotAllowedError(ServingError):
    code = "serving.method_not_allowed"
    status = 405


class NotAcceptableError(ServingError):
    code = "serving.not_acceptable"
    status = 406


class PayloadTooLargeError(ServingError):
    code = "serving.payload_too_large"
    status = 413


class UnsupportedMediaTypeError(ServingError):
    code = "serving.unsupported_media_type"
    status = 415


class PredictorError(ServingError):
    """The user's predictor raised: the traceback goes to the log, the message to the caller."""

    code = "serving.predictor_error"
    status = 500


class PredictorOutputError(ServingError):
    """The predictor returned something the negotiated content type cannot carry."""

    code = "serving.bad_output"
    status = 500


class NotReadyError(ServingError):
    """The model is still loading, failed to load, or the server is draining."""

    code = "serving.not_ready"
    status = 503


class QueueFullError(ServingError):
    code = "serving.queue_full"
    status = 503


class RequestTimeoutError(ServingError):
    code = "serving.timeout"
    status = 504


class ReadTimeoutError(ServingError):
    """The client did not send its headers or body in time (``limits.py``); the connection is closed."""

    code = "serving.read_timeout"
    status = 408


class HeadersTooLargeError(ServingError):
    code = "serving.headers_too_large"
    status = 431


class TooManyConnectionsError(ServingError):
    """Past ``--max-connections`` open connections in this process: refused as soon as it is accepted."""

    code = "serving.too_many_connections"
    status = 503


class ClientDisconnectedError(ServingError):
    """The connection closed before the body was complete: nothing can be sent, the 499 (nginx's code) is
    only counted, and the predictor never sees a truncated body."""

    code = "serving.client_disconnected"
    status = 499


class PredictorLoadError(ServingError):
    """The predictor could not be imported or constructed: the server exits (``worker.run_worker``)."""

    code = "serving.load_failed"
    status = 503


class StreamNotBatchableError(PredictorLoadError):
    """``predict`` yields (it streams) and ``serving.max_batch_size`` > 1: a stream is one request's answer, so
    batching it has no meaning; refused at load rather than silently served unbatched."""

    code = "serving.stream_not_batchable"


class BundleSourceError(ServingError):
    """The bundle URI is malformed or the bundle could not be fetched."""

    code = "serving.bundle_source"


def announce_load_failure(reason: str) -> None:
    """The process's last line on stderr, after the logged traceback: the platforms find it in the replica's log
    and fail the rollout at once, instead of waiting out health checks that can never pass."""
    sys.stderr.write(f"{MODEL_LOAD_FAILED_MARKER} {reason}\n")
    sys.stderr.flush()
