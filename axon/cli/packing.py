"""Pack a directory into a model bundle: byte-for-byte reproducible, and refusing links that leave it.

The same directory always yields the same bytes (sorted members, zeroed times and owners, fixed gzip header), so
an unchanged model re-deployed shows the same ETag and nothing in it depends on who packed it or when.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from axon.cli.errors import PackingError

SKIPPED_DIRECTORIES = frozenset({".git", "__pycache__", ".venv"})
_COMPRESS_LEVEL = 6  # zlib's default: within a few % of level 9 on model files, several times faster


@dataclass(frozen=True)
class Entry:
    name: str  # posix path relative to the packed directory
    path: Path
    kind: str  # "dir" | "file" | "symlink"
    link: str = ""  # symlink: target relative to the link's directory


def _link_target(root: Path, path: Path, shown: str) -> str:
    """The link's target, relative to its directory, after checking it resolves to something inside ``root``."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise PackingError(f"symlink {shown} -> {path.readlink()} leaves the directory")
    if not resolved.exists():
        raise PackingError(f"symlink {shown} -> {path.readlink()} points to nothing")
    return os.path.relpath(resolved, path.parent.resolve())


def walk(directory: Path) -> Iterator[Entry]:
    """Every member in a fixed order: names sorted per directory, a directory before its contents."""
    root = directory.resolve()

    def visit(current: Path, prefix: str) -> Iterator[Entry]:
        for child in sorted(current.iterdir(), key=lambda p: p.name):
            name = f"{prefix}{child.name}"
            mode = child.lstat().st_mode
            if stat.S_ISLNK(mode):
                yield Entry(name, child, "symlink", _link_target(root, child, name))
            elif stat.S_ISDIR(mode):
                if child.name in SKIPPED_DIRECTORIES:
                    continue
                yield Entry(name, child, "dir")
                yield from visit(child, f"{name}/")
            elif stat.S_ISREG(mode):
                yield Entry(name, child, "file")
            else:
                raise PackingError(f"{name} is not a regular file, directory or symlink")

    yield from visit(root, "")


def _info(entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif entry.kind == "symlink":
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.link
    else:
        executable = bool(entry.path.stat().st_mode & stat.S_IXUSR)
        info.mode = 0o755 if executable else 0o644
        info.size = entry.path.stat().st_size
    return info


def pack(directory: Path, target: BinaryIO) -> int:
    """Write ``directory`` as a gzip'd tar to ``target``; returns the number of members."""
    if not directory.is_dir():
        raise PackingError(f"{directory} is not a directory")
    count = 0
    with (
        gzip.GzipFile(filename="", fileobj=target, mode="wb", compresslevel=_COMPRESS_LEVEL, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for entry in walk(directory):
            info = _info(entry)
            if entry.kind == "file":
                with entry.path.open("rb") as source:
                    archive.addfile(info, source)
            else:
                archive.addfile(info)
            count += 1
    if count == 0:
        raise PackingError(f"{directory} is empty")
    return count
