"""``requirements.txt`` checked and normalized without pip: PEP 508 lines from the package index only.

Allowed: requirement lines (``name[extras] specifier ; marker``), blank lines, comments, ``\\`` line
continuations, and per-requirement ``--hash=algo:digest`` options (hash-checking mode). Refused: every other
option (``-r``/``-c`` read other files, ``-e`` installs local or VCS sources, ``-i``/``--extra-index-url``/
``-f``/``--trusted-host`` pull from arbitrary places), direct URL references (``pkg @ https://...``) and
paths or archive names, because the image key hashes this one file and the build must fetch only from the
configured index.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement

from axon.bundle.errors import RequirementsInvalidError, show

_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"^(sha256|sha384|sha512):[0-9a-fA-F]+$")
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\``-continued lines and strip comments, keeping the number of each logical line's first line."""
    lines: list[tuple[int, str]] = []
    start, parts = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        lines.append((start, _COMMENT.sub("", " ".join(parts)).strip()))
        parts = []
    if parts:
        lines.append((start, _COMMENT.sub("", " ".join(parts)).strip()))
    return [(number, line) for number, line in lines if line]


def _hashes(number: int, line: str, options: list[str]) -> list[str]:
    """``--hash=sha256:x`` or ``--hash sha256:x`` tokens -> ``["sha256:x"]``; anything else is refused."""
    hashes: list[str] = []
    rest = iter(options)
    for option in rest:
        value = option.removeprefix("--hash=") if option.startswith("--hash=") else None
        if option == "--hash":
            value = next(rest, "")
        if value is None:
            raise RequirementsInvalidError(
                f"requirements.txt line {number}: option {show(option)} is not allowed "
                f"(only requirement lines and --hash): {show(line)}"
            )
        if not _HASH.match(value):
            raise RequirementsInvalidError(f"requirements.txt line {number}: bad --hash value: {show(line)}")
        hashes.append(value)
    return hashes


def _normalize(number: int, line: str) -> str:
    tokens = line.split()
    first_option = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
    if first_option == 0:
        raise RequirementsInvalidError(
            f"requirements.txt line {number}: option {show(tokens[0])} is not allowed "
            f"(only requirement lines and --hash): {show(line)}"
        )
    hashes = _hashes(number, line, tokens[first_option:])
    try:
        requirement = Requirement(" ".join(tokens[:first_option]))
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        raise RequirementsInvalidError(f"requirements.txt line {number}: {reason}: {show(line)}") from None
    if requirement.url is not None:
        raise RequirementsInvalidError(
            f"requirements.txt line {number}: direct URL references are not allowed: {show(line)}"
        )
    if requirement.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise RequirementsInvalidError(f"requirements.txt line {number}: local archives are not allowed: {show(line)}")
    return " ".join([str(requirement), *(f"--hash={value}" for value in hashes)])


def parse_requirements(data: bytes) -> tuple[str, ...]:
    """The normalized requirement lines, in file order; raises ``RequirementsInvalidError`` naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RequirementsInvalidError(f"requirements.txt is not UTF-8 (byte {error.start})") from None
    return tuple(_normalize(number, line) for number, line in _logical_lines(text))


def requirements_text(requirements: tuple[str, ...]) -> str:
    """The canonical file the image key hashes: one normalized line each, newline-terminated."""
    return "".join(f"{line}\n" for line in requirements)
