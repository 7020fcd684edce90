"""Content-type parsing, Accept negotiation and the codecs, one row per rule."""

from __future__ import annotations

import io

import numpy as np
import pytest
from axon_serving import codecs
from axon_serving.errors import (
    BadRequestError,
    NotAcceptableError,
    PredictorOutputError,
    UnsupportedMediaTypeError,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("text/csv", "text/csv"),
        ("application/x-npy", "application/x-npy"),
        ("application/octet-stream", "application/octet-stream"),
    ],
)
def test_content_type(header: str | None, expected: str) -> None:
    assert codecs.content_type(header) == expected


def test_unsupported_content_type() -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="'image/png' is not supported"):
        codecs.content_type("image/png")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, None),
        ("*/*", None),
        ("text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("application/*", "application/json"),
        ("image/png, text/csv;q=0.5", "text/csv"),
        ("application/json;q=0.2, application/x-npy", "application/x-npy"),
        ("text/csv;q=0, */*;q=0.1", None),
        ("text/csv;q=bogus, application/json", "application/json"),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert codecs.negotiate(accept) == expected


@pytest.mark.parametrize("accept", ["image/png", "text/csv;q=0", "image/*"])
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptableError):
        codecs.negotiate(accept)


def test_decode_errors_are_400() -> None:
    for body, media in [(b"{", codecs.JSON), (b"x,y", codecs.CSV), (b"\xff\xfe", codecs.CSV), (b"no", codecs.NPY)]:
        with pytest.raises(BadRequestError):
            codecs.decode(body, media)


def test_encode_chooses_by_result_when_any_is_accepted() -> None:
    assert codecs.encode(b"raw", None) == (b"raw", codecs.OCTET)
    assert codecs.encode({"a": np.float32(1.5)}, None) == (b'{"a":1.5}', codecs.JSON)
    assert codecs.encode(np.arange(3), None) == (b"[0,1,2]", codecs.JSON)
    assert codecs.encode(7, codecs.CSV) == (b"7\n", codecs.CSV)
    body, media = codecs.encode([[1, 2]], codecs.NPY)
    assert media == codecs.NPY and np.load(io.BytesIO(body)).tolist() == [[1, 2]]


@pytest.mark.parametrize(
    ("result", "media"),
    [
        (object(), codecs.JSON),
        ("text", codecs.OCTET),
        (b"raw", codecs.CSV),
        ([[1], [1, 2]], codecs.CSV),
        ({"a": 1}, codecs.NPY),
    ],
)
def test_unencodable_results_are_predictor_output_errors(result: object, media: str) -> None:
    with pytest.raises(PredictorOutputError, match=f"cannot be sent as {media}"):
        codecs.encode(result, media)
