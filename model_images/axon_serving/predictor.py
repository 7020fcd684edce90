"""The user contract (Cortex-style ``Predictor``, SageMaker-style functions) and the stages axon drives.

Every predictor is adapted to one ``Handler``: ``media_in`` / ``media_out`` (negotiation, before any model
time is spent), ``decode``, ``predict`` or ``predict_batch``, ``encode``. Batching is then a scheduling
strategy over ``predict_batch``, not a branch in the server.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from axon_serving import codecs
from axon_serving.protocol import Invocation


@runtime_checkable
class Predictor(Protocol):
    """What a bundle's ``predictor.py`` defines as ``class Predictor``.

    ``__init__(self, config: dict, model_dir: str)`` loads the model once; ``predict`` may be ``async``, and
    may ``yield`` (a generator or an async generator: the answer is streamed, see ``streaming.py``).
    An optional ``predict_batch(self, payloads: list) -> list`` enables server-side batching; an item
    of the returned list that is an ``Exception`` instance fails only that item's request.

    Examples
    --------
    >>> class Predictor:
    ...     def __init__(self, config, model_dir):
    ...         self.scale = config.get("scale", 2)
    ...     def predict(self, payload):
    ...         return {"y": payload["x"] * self.scale}
    """

    def predict(self, payload: Any) -> Any: ...


class Handler(ABC):
    """The stages the runtime drives for one loaded predictor."""

    predict: Callable[[Any], Any]
    predict_batch: Callable[[list[Any]], Any] | None = None
    # Set when the predictor yields: payload -> generator (async when ``stream_is_async``); see streaming.py.
    stream: Callable[[Any], Any] | None = None
    stream_is_async: bool = False

    @abstractmethod
    def media_in(self, content_type: str | None) -> str | None:
        """The request's media type; raises ``UnsupportedMediaTypeError`` (415)."""

    @abstractmethod
    def media_out(self, accept: str | None) -> str | None:
        """The reply's media type (``None``: chosen from the result); raises ``NotAcceptableError`` (406)."""

    @abstractmethod
    def decode(self, invocation: Invocation, media_in: str | None, media_out: str | None) -> Any:
        """Request -> payload; runs on the event loop, so it stays cheap."""

    @abstractmethod
    def encode(self, result: Any, media_out: str | None) -> tuple[bytes, str]:
        """Result -> (body, content type); raises ``PredictorOutputError`` when it cannot."""


class CortexHandler(Handler):
    """A ``Predictor`` instance: axon's codecs decode and encode, the user's code only predicts."""

    def __init__(self, predictor: Any) -> None:
        self.predict = predictor.predict
        self.predict_batch = getattr(predictor, "predict_batch", None)
        if inspect.isgeneratorfunction(self.predict) or inspect.isasyncgenfunction(self.predict):
            self.stream, self.stream_is_async = self.predict, inspect.isasyncgenfunction(self.predict)

    def media_in(self, content_type: str | None) -> str | None:
        return codecs.content_type(content_type)

    def media_out(self, accept: str | None) -> str | None:
        return codecs.negotiate(accept)

    def decode(self, invocation: Invocation, media_in: str | None, media_out: str | None) -> Any:
        return codecs.decode(invocation.body, media_in or codecs.DEFAULT_CONTENT_TYPE)

    def encode(self, result: Any, media_out: str | None) -> tuple[bytes, str]:
        return codecs.encode(result, media_out)


def default_input_fn(input_data: bytes, content_type: str) -> Any:
    """SageMaker toolkit default: JSON, CSV and npy all become a ``numpy`` array; octet-stream stays bytes."""
    media = codecs.content_type(content_type)
    payload = codecs.decode(input_data, media)
    if media != codecs.JSON:
        return payload
    import numpy as np

    return np.asarray(payload)


def default_predict_fn(data: Any, model: Any) -> Any:
    """As the framework containers do: ``model.predict(data)`` (scikit-learn, XGBoost) else ``model(data)``."""
    predict = getattr(model, "predict", None)
    return predict(data) if callable(predict) else model(data)


def default_output_fn(prediction: Any, accept: str | None) -> tuple[bytes, str]:
    """SageMaker toolkit default: JSON, CSV or npy as ``Accept`` asks (already negotiated by ``media_out``)."""
    return codecs.encode(prediction, codecs.negotiate(accept))


class SageMakerHandler(Handler):
    """``code/inference.py``: ``model_fn`` plus optional ``input_fn``, ``predict_fn``, ``output_fn``.

    All three user functions run off the loop, inside ``predict``, since they are arbitrary code; the
    decode and encode stages only carry the raw bytes and headers, as SageMaker's toolkit hands them over.
    """

    def __init__(self, model: Any, functions: dict[str, Callable[..., Any]]) -> None:
        self.model = model
        self.input_fn: Callable[..., Any] = functions.get("input_fn", default_input_fn)
        self.predict_fn: Callable[..., Any] = functions.get("predict_fn", default_predict_fn)
        self.output_fn: Callable[..., Any] = functions.get("output_fn", default_output_fn)
        self.predict = self._transform
        if inspect.isgeneratorfunction(self.predict_fn):
            self.stream = self._stream  # each item is encoded as it comes: output_fn takes a whole prediction

    def media_in(self, content_type: str | None) -> str | None:
        if self.input_fn is default_input_fn:
            return codecs.content_type(content_type)
        return content_type or codecs.DEFAULT_CONTENT_TYPE

    def media_out(self, accept: str | None) -> str | None:
        if self.output_fn is default_output_fn:
            return codecs.negotiate(accept)
        return accept if accept and accept != "*/*" else codecs.JSON

    def decode(self, invocation: Invocation, media_in: str | None, media_out: str | None) -> Any:
        return (invocation.body, media_in, media_out)

    def _transform(self, raw: tuple[bytes, str, str | None]) -> Any:
        body, media_in, media_out = raw
        data = self.input_fn(body, media_in)
        return self.output_fn(self.predict_fn(data, self.model), media_out)

    def _stream(self, raw: tuple[bytes, str, str | None]) -> Any:
        body, media_in, _ = raw
        return self.predict_fn(self.input_fn(body, media_in), self.model)

    def encode(self, result: Any, media_out: str | None) -> tuple[bytes, str]:
        """``output_fn`` returns a body or ``(body, content_type)``, as SageMaker's transformer accepts."""
        body, media = result if isinstance(result, tuple) else (result, media_out or codecs.JSON)
        if isinstance(body, str):
            body = body.encode()
        return codecs.encode(body, codecs.OCTET)[0], str(media)


def is_async(function: Callable[..., Any] | None) -> bool:
    return function is not None and inspect.iscoroutinefunction(function)
