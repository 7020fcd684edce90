"""Which versions keep their platform resources (model, endpoint config): the one rule behind pruning and rollback.

The workflow prunes every version but the last :data:`KEEP_VERSIONS` that went live (and were deployed, so have an
image); ``axon rollback`` may only return to one of those.
"""

from __future__ import annotations

from collections.abc import Iterable

from axon.registry import VersionRecord, VersionStatus

KEEP_VERSIONS = 3  # models/configs kept for rollback: the live version and the two before it


def went_live(version: VersionRecord) -> bool:
    """Live now, or replaced after serving (a skipped upload is superseded too, but with a reason)."""
    return version.status == VersionStatus.LIVE or (
        version.status == VersionStatus.SUPERSEDED and version.reason is None
    )


def _served(versions: Iterable[VersionRecord]) -> list[VersionRecord]:
    """Versions that went live with an image (so got platform resources), oldest first."""
    return sorted((v for v in versions if went_live(v) and v.image_uri), key=lambda v: v.seq)


def kept(versions: Iterable[VersionRecord]) -> set[int]:
    """Sequence numbers whose platform resources are kept: the last ``KEEP_VERSIONS`` that went live."""
    return {v.seq for v in _served(versions)[-KEEP_VERSIONS:]}


def to_prune(versions: Iterable[VersionRecord]) -> list[VersionRecord]:
    """Versions that went live but are no longer kept, oldest first: their resources can go."""
    return _served(versions)[:-KEEP_VERSIONS]
