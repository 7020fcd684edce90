"""Bounds on what a bundle may contain, so inspecting or extracting one has a known worst case."""

from __future__ import annotations

from dataclasses import dataclass, fields

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class BundleLimits:
    """Every bound the inspector and the extractor enforce; the Lambda builds one from its settings.

    Sizes are bytes. The defaults admit a 20 GiB model with room to spare while keeping the inspector's
    memory constant: only the small text members listed below are ever held in memory.

    Examples
    --------
    >>> BundleLimits(max_members=100).max_members
    100
    """

    max_members: int = 10_000
    """Tar entries of any kind (directories and links included)."""
    max_total_bytes: int = 50 * GiB
    """Uncompressed size: the sum of member sizes, and the decompressed tar stream (headers included)."""
    max_member_bytes: int = 50 * GiB
    """Largest single member."""
    max_compression_ratio: float = 200.0
    """Uncompressed / compressed bytes read so far; real models compress 1-10x, zero-filled bombs ~1000x."""
    compression_ratio_floor_bytes: int = 64 * MiB
    """The ratio is only checked past this many uncompressed bytes, so small, very compressible bundles pass."""
    max_text_file_bytes: int = 1 * MiB
    """Largest axon.yaml, requirements.txt or Python source kept in memory for inspection."""
    max_kept_source_bytes: int = 16 * MiB
    """Python sources kept before axon.yaml names the predictor (predictor.py and code/inference.py are exempt)."""
    max_header_bytes: int = 1 * MiB
    """Largest pax / GNU long-name extended header: tarfile reads one into memory whole."""
    max_name_bytes: int = 1024
    """Longest member path (UTF-8); Linux refuses paths past 4096 and components past 255 anyway."""
    max_path_depth: int = 64
    """Most directory levels in a member path; bounds the cost of the ancestor checks."""

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"BundleLimits.{field.name} must be positive")
        if self.max_compression_ratio < 1:
            raise ValueError("BundleLimits.max_compression_ratio must be at least 1")


DEFAULT_LIMITS = BundleLimits()
