"""What inspection learned about a valid bundle (the workflow records its spec and image key in the registry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from axon.spec import ApiSpec

PredictorStyle = Literal["python", "sagemaker"]


@dataclass(frozen=True)
class BundleReport:
    """A bundle that passed every check."""

    spec: ApiSpec
    predictor_path: str
    """Member name of the predictor source (normalized from ``spec.predictor.path``)."""
    predictor_style: PredictorStyle
    predictor_sha256: str
    """Hex SHA-256 of the predictor source, for the image and version keys."""
    has_predict_batch: bool
    """``Predictor.predict_batch`` is defined (python style only): server-side batching is possible."""
    requirements: tuple[str, ...]
    """Normalized requirement lines, in file order (empty without requirements.txt)."""
    requirements_text: str
    """The lines of ``requirements`` joined, newline-terminated: what the image key hashes."""
    member_count: int
    """Tar entries, directories and links included."""
    total_bytes: int
    """Sum of the regular files' sizes."""
    uncompressed_bytes: int
    """Size of the decompressed tar stream (headers and padding included)."""
    compressed_bytes: int
    """Size of the gzip stream as read."""
