"""Content types: parse ``Content-Type``, negotiate ``Accept``, decode bodies and encode results.

Parsing is cached per header value: a service sees a handful of distinct values, and parsing them on
every request would cost more than the rest of the codec work on small payloads.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import orjson

from axon_serving.errors import (
    BadRequestError,
    NotAcceptableError,
    PredictorOutputError,
    UnsupportedMediaTypeError,
)

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
OCTET = "application/octet-stream"
SUPPORTED: tuple[str, ...] = (JSON, CSV, NPY, OCTET)
DEFAULT_CONTENT_TYPE = JSON  # SageMaker's framework containers assume JSON when none is sent
_BYTES_LIKE = (bytes, bytearray, memoryview)


@lru_cache(maxsize=256)
def content_type(header: str | None) -> str:
    """The supported media type a ``Content-Type`` header names (parameters such as charset ignored)."""
    if not header:
        return DEFAULT_CONTENT_TYPE
    media = header.split(";", 1)[0].strip().lower()
    if media not in SUPPORTED:
        raise UnsupportedMediaTypeError(f"Content-Type {media!r} is not supported; use one of {', '.join(SUPPORTED)}")
    return media


def accept_entries(header: str) -> list[tuple[float, str]]:
    """``Accept``'s media ranges with a non-zero ``q``, best first (equal ``q``: the client's order)."""
    entries: list[tuple[float, str]] = []
    for part in header.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            entries.append((quality, media.lower()))
    entries.sort(key=lambda entry: -entry[0])  # stable: equal q keeps the client's order
    return entries


@lru_cache(maxsize=256)
def negotiate(accept: str | None) -> str | None:
    """The media type to answer in: ``None`` means "any" (JSON, or octet-stream for bytes results).

    Decided before the predictor runs, so a request nobody can answer never costs model time.
    """
    if not accept:
        return None
    for _, media in accept_entries(accept):
        if media == "*/*":
            return None
        if media.endswith("/*"):
            family = media[:-1]
            for supported in SUPPORTED:
                if supported.startswith(family):
                    return supported
        elif media in SUPPORTED:
            return media
    raise NotAcceptableError(f"cannot answer in {accept!r}; available: {', '.join(SUPPORTED)}")


def decode(body: bytes, media: str) -> Any:
    """Request body -> payload: JSON -> Python objects, CSV/npy -> ``numpy.ndarray``, octet-stream -> bytes."""
    if media == JSON:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise BadRequestError(f"body is not valid JSON: {error}") from None
    if media == OCTET:
        return body
    import numpy as np  # lazy: JSON-only services start without paying numpy's import

    try:
        if media == CSV:
            return np.loadtxt(io.StringIO(body.decode()), delimiter=",", ndmin=2)
        return np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, UnicodeDecodeError, EOFError) as error:
        kind = "numeric CSV" if media == CSV else "a .npy array"
        raise BadRequestError(f"body is not {kind}: {error}") from None


def encode(result: Any, accept: str | None) -> tuple[bytes, str]:
    """Predictor result -> (body, content type) in the negotiated type (``None``: JSON, bytes as-is)."""
    media = accept or (OCTET if isinstance(result, _BYTES_LIKE) else JSON)
    try:
        if media == JSON:
            return orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY), JSON
        if media == OCTET:
            if not isinstance(result, _BYTES_LIKE):
                raise TypeError(f"{type(result).__name__} is not bytes")
            return bytes(result), OCTET
        return _encode_array(result, media), media
    except (TypeError, ValueError) as error:
        raise PredictorOutputError(f"predictor output cannot be sent as {media}: {error}") from None


def _encode_array(result: Any, media: str) -> bytes:
    import numpy as np

    if isinstance(result, _BYTES_LIKE):
        raise TypeError("bytes are not an array")
    array = np.asarray(result)
    buffer = io.BytesIO()
    if media == NPY:
        np.save(buffer, array, allow_pickle=False)
    else:
        np.savetxt(buffer, np.atleast_1d(array), delimiter=",", fmt="%s")
    return buffer.getvalue()
