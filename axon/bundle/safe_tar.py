"""``safe_extract``: unpack a bundle for the serving runtime under exactly the inspector's member rules.

Extraction does not use ``TarFile.extract``: every member is written by this module, after
``MemberChecker`` passed it, with ``O_NOFOLLOW`` and sanitized modes (0644/0755: no setuid, setgid or
sticky bits, nothing group- or world-writable; owner and times are not restored). ``tarfile.data_filter``
(Python 3.11.4+, which axon requires) is applied to each member as well, against the real tree on disk, as a
second layer. Symlinks and hard links that stay inside the bundle are recreated.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from axon.bundle.archive import walk_bundle
from axon.bundle.errors import BundleError, LinkEscapeError, PathTraversalError, show
from axon.bundle.limits import DEFAULT_LIMITS, BundleLimits
from axon.bundle.members import Member, MemberKind
from axon.bundle.stream import ByteSource

_COPY_CHUNK = 1024 * 1024
_TAR_TYPES = {
    MemberKind.DIRECTORY: tarfile.DIRTYPE,
    MemberKind.FILE: tarfile.REGTYPE,
    MemberKind.SYMLINK: tarfile.SYMTYPE,
    MemberKind.HARDLINK: tarfile.LNKTYPE,
}


def _filter_error(error: tarfile.TarError, name: str) -> BundleError:
    """The bundle error matching a refusal by ``tarfile.data_filter`` (only files and links reach it)."""
    kind = PathTraversalError if isinstance(error, tarfile.OutsideDestinationError) else LinkEscapeError
    return kind(f"member {show(name)} refused by tarfile's data filter: {error}")


class _Extractor:
    """A ``walk_bundle`` visitor writing each checked member under ``root``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def visit(self, member: Member, data: IO[bytes] | None) -> None:
        self._data_filter(member)
        path = self._root.joinpath(*member.name.split("/"))  # under root even if a name were absolute
        if member.kind is MemberKind.DIRECTORY:
            self._make_dirs(path)
            return
        self._make_dirs(path.parent)
        if path.is_symlink() or path.exists():
            path.unlink()  # a later member of the same name replaces it; never write through it
        if member.kind is MemberKind.SYMLINK:
            assert member.link_target is not None
            path.symlink_to(member.link_target)
        elif member.kind is MemberKind.HARDLINK:
            assert member.link_target is not None
            os.link(self._root / member.link_target, path, follow_symlinks=False)
        else:
            assert data is not None
            self._write(path, data, member.mode)

    @staticmethod
    def _make_dirs(path: Path) -> None:
        """Create ``path`` and its missing parents as 0755, whatever the umask (rules keep symlinks out)."""
        missing: list[Path] = []
        while not path.exists():
            missing.append(path)
            path = path.parent
        for folder in reversed(missing):
            folder.mkdir()
            folder.chmod(0o755)

    @staticmethod
    def _write(path: Path, data: IO[bytes], mode: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, mode)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # exact mode, whatever the umask
            shutil.copyfileobj(data, out, _COPY_CHUNK)

    def _data_filter(self, member: Member) -> None:
        info = tarfile.TarInfo(member.name)
        info.type = _TAR_TYPES[member.kind]
        info.linkname = member.link_target or ""
        info.mode = member.mode
        try:
            tarfile.data_filter(info, str(self._root))
        except tarfile.TarError as error:
            raise _filter_error(error, member.name) from None


def safe_extract(fileobj: ByteSource, dest: Path, limits: BundleLimits | None = None) -> None:
    """Extract the bundle read from ``fileobj`` to ``dest``, all or nothing.

    Members are written to a private temporary directory next to ``dest``, which is renamed to ``dest``
    only once the whole stream has passed; on any error it is removed and ``dest`` is left as it was.
    ``dest`` must not exist or be an empty directory (``FileExistsError`` otherwise).

    Raises
    ------
    BundleError
        The same code ``inspect_bundle`` gives for a member-level refusal of the same bundle.

    Examples
    --------
    >>> with open("bundle.tar.gz", "rb") as f:  # doctest: +SKIP
    ...     safe_extract(f, Path("/opt/ml/model"))
    """
    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise FileExistsError(f"{dest} exists and is not an empty directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        walk_bundle(fileobj, limits or DEFAULT_LIMITS, _Extractor(staging).visit)
        staging.chmod(0o755)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
