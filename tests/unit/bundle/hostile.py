"""Hostile tars built by hand: the archives stock ``tarfile`` reads without bound, which no builder would write."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Literal

from tests.unit.bundle.builder import valid

BLOCK = 512
MiB = 1024 * 1024


def _octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\x00"


def _rechecksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}".encode() + b"\x00 "
    return bytes(header)


def _end(tar: bytes) -> bytes:
    """Pad to tarfile's record size, as ``tarfile`` closes an archive."""
    tar += bytes(2 * BLOCK)
    return tar + bytes(-len(tar) % tarfile.RECORDSIZE)


def _members(*infos: tuple[tarfile.TarInfo, bytes | None], fmt: Literal[0, 1, 2] = tarfile.PAX_FORMAT) -> bytes:
    """The members' bytes without the end-of-archive blocks, so they can be spliced."""
    out = b""
    for info, data in infos:
        out += info.tobuf(fmt, "utf-8", "surrogateescape")  # with its pax / GNU long-name headers
        if data:
            out += data + bytes(-len(data) % BLOCK)
    return out


def _valid_members() -> bytes:
    """predictor.py, as the members of a tar without its end blocks."""
    info = tarfile.TarInfo("predictor.py")
    data = valid().tar()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        source = tar.extractfile("predictor.py")
        assert source is not None
        body = source.read()
    info.size = len(body)
    return _members((info, body))


def gnu_sparse(real_size: int = 160 * MiB) -> bytes:
    """A GNU ``S`` member storing no bytes that unpacks to ``real_size`` zero bytes (one 512-byte header)."""
    info = tarfile.TarInfo("w.bin")
    info.type = tarfile.GNUTYPE_SPARSE
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
    header[483:495] = _octal(real_size, 12)  # the real size; the four sparse entries stay (0, 0)
    return gzip.compress(_end(_valid_members() + _rechecksum(header)), mtime=0)


def pax_sparse(version: str, real_size: int = 160 * MiB) -> bytes:
    """A pax sparse member of GNU format ``0.0``, ``0.1`` or ``1.0`` storing (almost) nothing.

    ``1.0-endless``: a 1.0 map announcing 999,999,999 entries, which stock tarfile reads from the stream
    for as long as there is one (and then fails with a ``ValueError``).
    """
    info = tarfile.TarInfo("w.bin")
    data = b""
    if version == "0.0":
        info.pax_headers = {"GNU.sparse.size": str(real_size), "GNU.sparse.offset": "0", "GNU.sparse.numbytes": "0"}
    elif version == "0.1":
        info.pax_headers = {"GNU.sparse.size": str(real_size), "GNU.sparse.map": "0,0"}
    else:  # 1.0: the map is at the start of the data, and tarfile reads as many numbers as its first line says
        endless = version == "1.0-endless"
        info.pax_headers = {
            "GNU.sparse.major": "1",
            "GNU.sparse.minor": "0",
            "GNU.sparse.realsize": str(real_size),
            "GNU.sparse.name": "w.bin",
        }
        data = (b"999999999\n" if endless else b"1\n0\n0\n").ljust(BLOCK, b"\x00")
    info.size = len(data)
    return gzip.compress(_end(_valid_members() + _members((info, data))), mtime=0)


def header_chain(count: int, *, gnu: bool = False, first: bool = False) -> bytes:
    """``count`` extended headers (pax ``x``, or GNU long-name ``L``) in a row before one member.

    ``first``: the chain opens the archive (tarfile reads the first header while opening it).
    """
    if gnu:
        info = tarfile.TarInfo("models/" + "n" * 120)
        one = _members((info, b""), fmt=tarfile.GNU_FORMAT)
        extended = one[: 2 * BLOCK]  # the L header and its one data block
    else:
        info = tarfile.TarInfo("notes.txt")
        info.pax_headers = {"comment": "x"}
        one = _members((info, b""))
        extended = one[: 2 * BLOCK]  # the x header and its one data block
    chain = extended * count + one[2 * BLOCK :]
    body = chain + _valid_members() if first else _valid_members() + chain
    return gzip.compress(_end(body), mtime=0)


def deep_class_chain(depth: int) -> bytes:
    """A predictor whose ``Predictor`` has ``depth`` levels of same-file base classes and no ``predict``."""
    lines = ["class C0:\n    pass\n"]
    lines += [f"class C{i}(C{i - 1}):\n    pass\n" for i in range(1, depth)]
    lines.append(f"class Predictor(C{depth - 1}):\n    pass\n")
    return "".join(lines).encode()
