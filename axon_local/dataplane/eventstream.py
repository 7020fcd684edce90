"""AWS event-stream framing (``application/vnd.amazon.eventstream``), the encoder side, for
InvokeEndpointWithResponseStream's ``PayloadPart`` and ``ModelStreamError`` events.

botocore ships only the parser (``botocore.eventstream``), and ``awscrt.eventstream`` only an RPC client
connection with no standalone message encoder, so the few lines of the format are written here; the tests
read every message back with botocore's parser. A message is::

    prelude: total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers: name length (u8) | name | value type (u8, 7 = string) | value length (u16) | value, repeated
    payload
    CRC32 of everything before it (u32)

all big-endian.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32

STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7
_PRELUDE = struct.Struct(">II")
_U32 = struct.Struct(">I")
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024  # the format's own limit on one message's payload


def encode_headers(headers: dict[str, str]) -> bytes:
    """String-valued headers in order (the only type these events use)."""
    parts: list[bytes] = []
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        parts.append(bytes([len(raw_name)]) + raw_name + bytes([_STRING]) + struct.pack(">H", len(raw_value)))
        parts.append(raw_value)
    return b"".join(parts)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One framed message, CRCs included."""
    raw_headers = encode_headers(headers)
    prelude = _PRELUDE.pack(12 + len(raw_headers) + len(payload) + 4, len(raw_headers))
    message = prelude + _U32.pack(crc32(prelude)) + raw_headers + payload
    return message + _U32.pack(crc32(message))


def payload_parts(data: bytes) -> list[bytes]:
    """``PayloadPart`` events carrying ``data`` (its ``Bytes`` member is the event's payload); split only past the
    format's size limit."""
    headers = {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"}
    return [
        encode_message(headers, data[start : start + MAX_PAYLOAD_BYTES])
        for start in range(0, len(data), MAX_PAYLOAD_BYTES)
    ]


def exception_event(kind: str, message: str, error_code: str | None = None) -> bytes:
    """A modelled exception event (``ModelStreamError``, ``InternalStreamFailure``): botocore raises it from the
    iteration as ``EventStreamError`` with ``Code`` = ``kind``."""
    body: dict[str, str] = {"Message": message}
    if error_code is not None:
        body["ErrorCode"] = error_code
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps(body).encode())
