"""Bundles built in memory for the tests, and a stream that proves the inspector reads once, forward only."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from typing import Self

PREDICTOR = b"class Predictor:\n    def __init__(self, config, model_dir):\n        pass\n\n    def predict(self, payload):\n        return payload\n"
SAGEMAKER = b"def model_fn(model_dir):\n    return object()\n"


class ZeroReader:
    """``size`` zero bytes produced on demand, so a huge member never exists in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


class ForwardOnlyStream:
    """A network-like body: short reads, no seek or tell; counts what was read."""

    def __init__(self, data: bytes, max_read: int = 8192) -> None:
        self._data = data
        self._max_read = max_read
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        end = len(self._data) if size < 0 else self.bytes_read + min(size, self._max_read)
        chunk = self._data[self.bytes_read : end]
        self.bytes_read += len(chunk)
        return chunk

    def seek(self, *args: object) -> int:
        raise io.UnsupportedOperation("forward-only stream: seek")

    def tell(self) -> int:
        raise io.UnsupportedOperation("forward-only stream: tell")

    @property
    def exhausted(self) -> bool:
        return self.bytes_read == len(self._data)


class BundleBuilder:
    """Members in the order added; ``build()`` gives the ``.tar.gz`` bytes."""

    def __init__(self) -> None:
        self._members: list[tuple[tarfile.TarInfo, io.BytesIO | ZeroReader | None]] = []

    def file(self, name: str, data: bytes | str = b"", mode: int = 0o644) -> Self:
        raw = data.encode() if isinstance(data, str) else data
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(raw), mode
        self._members.append((info, io.BytesIO(raw)))
        return self

    def zeros(self, name: str, size: int) -> Self:
        info = tarfile.TarInfo(name)
        info.size = size
        self._members.append((info, ZeroReader(size)))
        return self

    def noise(self, name: str, size: int) -> Self:
        """Incompressible bytes (seeded, so every run builds the same bundle)."""
        return self.file(name, random.Random(size).randbytes(size))

    def entry(self, name: str, type_: bytes, linkname: str = "", mode: int = 0o755) -> Self:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = type_, linkname, mode
        self._members.append((info, None))
        return self

    def dir(self, name: str) -> Self:
        return self.entry(name, tarfile.DIRTYPE)

    def symlink(self, name: str, target: str) -> Self:
        return self.entry(name, tarfile.SYMTYPE, target, 0o777)

    def hardlink(self, name: str, target: str) -> Self:
        return self.entry(name, tarfile.LNKTYPE, target)

    def tar(self) -> bytes:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for info, data in self._members:
                tar.addfile(info, data)
        return out.getvalue()

    def build(self, level: int = 6) -> bytes:
        if not any(isinstance(data, ZeroReader) for _, data in self._members):
            return gzip.compress(self.tar(), compresslevel=level, mtime=0)
        out = io.BytesIO()  # lazy members: stream through tarfile's own gzip writer
        with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=level) as tar:
            for info, data in self._members:
                tar.addfile(info, data)
        return out.getvalue()


def valid(predictor: bytes = PREDICTOR, spec: str | None = None) -> BundleBuilder:
    """The smallest valid bundle: axon.yaml (when given) then predictor.py."""
    builder = BundleBuilder()
    if spec is not None:
        builder.file("axon.yaml", spec)
    return builder.file("predictor.py", predictor)
