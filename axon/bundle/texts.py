"""Keeps the few small members inspection needs, whatever their order in the archive, within fixed caps."""

from __future__ import annotations

from typing import IO

from axon.bundle.errors import InvalidMemberError, MissingPredictorError, TooLargeError, show
from axon.bundle.limits import BundleLimits
from axon.bundle.members import Member, MemberChecker, MemberKind, split_path
from axon.spec import ApiSpec, SpecError, load_spec_text
from axon.spec.bundle_files import PYTHON_PREDICTOR, SAGEMAKER_SCRIPT, SPEC_FILES

REQUIREMENTS_FILE = "requirements.txt"
SAGEMAKER_REQUIREMENTS_FILE = "code/requirements.txt"  # beside the inference script, as SageMaker reads it
CONTROL_FILES = frozenset({*SPEC_FILES, REQUIREMENTS_FILE, SAGEMAKER_REQUIREMENTS_FILE})
# The default predictor paths of both styles are always kept, so the common bundle never hits the source cap.
DEFAULT_PREDICTORS = frozenset({PYTHON_PREDICTOR, SAGEMAKER_SCRIPT})


def predictor_path(spec: ApiSpec) -> str:
    """``spec.predictor.path`` as a member name (``./src//p.py`` -> ``src/p.py``)."""
    return "/".join(split_path(spec.predictor.path))


def _unresolved_message(name: str, target: str) -> str:
    return (
        f"{show(name)} is a hard link to {show(target)}, a file inspection does not read; "
        "store it as a regular file (or link the other way round)"
    )


class TextKeeper:
    """A ``walk_bundle`` visitor holding axon.yaml, requirements.txt and candidate predictor sources.

    The predictor may come before axon.yaml names it, so Python sources are kept until then (each at most
    ``max_text_file_bytes``, together at most ``max_kept_source_bytes``); once a valid axon.yaml is seen
    only its predictor is kept. Everything else is skipped unread.
    """

    def __init__(self, limits: BundleLimits) -> None:
        self._limits = limits
        self.texts: dict[str, bytes] = {}
        self._counted: set[str] = set()
        self._source_bytes = 0
        self._predictor: str | None = None
        self._unresolved: dict[str, str] = {}
        """Hard links whose target's bytes were not kept: name -> target."""

    def visit(self, member: Member, data: IO[bytes] | None) -> None:
        self._forget(member.name)
        if member.kind is MemberKind.HARDLINK:
            self._link(member)
            return
        if member.name in CONTROL_FILES and member.kind is not MemberKind.FILE:
            raise InvalidMemberError(f"{member.name} is a {member.kind.value}; it must be a regular file")
        if data is None:
            return
        if member.name in CONTROL_FILES:
            self.texts[member.name] = self._read(member, data)
            if member.name in SPEC_FILES:
                self._learn_predictor(self.texts[member.name])
        elif self._wants_source(member):
            self.texts[member.name] = self._read(member, data)
            if self._predictor is None and member.name not in DEFAULT_PREDICTORS:
                self._counted.add(member.name)
                self._source_bytes += member.size

    def _link(self, member: Member) -> None:
        """A hard link is the bytes of its target as they are now, exactly what extraction's ``link()`` makes.

        Those bytes are known only if the target was kept; a control file linked to any other file is refused,
        since reading it as absent would check a bundle other than the one extraction unpacks.
        """
        target = member.link_target
        assert target is not None
        if target in self.texts:
            self.texts[member.name] = self.texts[target]
            return
        if member.name in CONTROL_FILES:
            raise InvalidMemberError(_unresolved_message(member.name, target))
        self._unresolved[member.name] = target

    def predictor_source(self, path: str, checker: MemberChecker) -> bytes:
        """The predictor's bytes; raises ``MissingPredictorError`` or ``TooLargeError`` saying why not."""
        kind = checker.kind(path)
        if kind is None:
            raise MissingPredictorError(f"the bundle has no predictor file {show(path)}")
        if kind in (MemberKind.DIRECTORY, MemberKind.SYMLINK):
            raise MissingPredictorError(f"predictor {show(path)} is a {kind.value}, not a regular file")
        if path in self._unresolved:
            raise InvalidMemberError(_unresolved_message(path, self._unresolved[path]))
        source = self.texts.get(path)
        if source is None:
            raise TooLargeError(
                f"predictor {show(path)} is over {self._limits.max_text_file_bytes} bytes, or came after "
                f"{self._limits.max_kept_source_bytes} bytes of other Python files (put axon.yaml first)"
            )
        return source

    def _forget(self, name: str) -> None:
        """A later member of the same name replaces the earlier one, as extraction would."""
        self._unresolved.pop(name, None)
        dropped = self.texts.pop(name, None)
        if dropped is not None and name in self._counted:
            self._counted.discard(name)
            self._source_bytes -= len(dropped)

    def _wants_source(self, member: Member) -> bool:
        if member.size > self._limits.max_text_file_bytes:
            return False
        if self._predictor is not None:
            return member.name == self._predictor
        if member.name in DEFAULT_PREDICTORS:
            return True
        fits = self._source_bytes + member.size <= self._limits.max_kept_source_bytes
        return member.name.endswith(".py") and fits

    def _read(self, member: Member, data: IO[bytes]) -> bytes:
        if member.size > self._limits.max_text_file_bytes:
            raise TooLargeError(
                f"{member.name} is {member.size} bytes; the limit is {self._limits.max_text_file_bytes}"
            )
        return data.read(member.size)

    def _learn_predictor(self, spec_text: bytes) -> None:
        """With a valid axon.yaml in hand, drop every kept source but its predictor."""
        try:
            path = predictor_path(load_spec_text(spec_text))
        except SpecError:
            return  # reported after the walk, when every member has passed the member rules
        self._predictor = path
        self.texts = {name: text for name, text in self.texts.items() if name in CONTROL_FILES | {path}}
        self._counted.clear()
        self._source_bytes = 0
