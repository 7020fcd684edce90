"""What inspection learned about a valid bundle, in a JSON-safe shape for Step Functions payloads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from axon.spec import ApiSpec

PredictorStyle = Literal["python", "sagemaker"]


@dataclass(frozen=True)
class BundleReport:
    """A bundle that passed every check; ``to_dict``/``from_dict`` carry it between workflow steps."""

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (``spec`` as ``ApiSpec.model_dump(mode="json")``, tuples as lists)."""
        data = asdict(self)
        data["spec"] = self.spec.model_dump(mode="json")
        data["requirements"] = list(self.requirements)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BundleReport:
        """Inverse of ``to_dict``, for the steps that receive the report from Step Functions."""
        fields = dict(data)
        fields["spec"] = ApiSpec.model_validate(fields["spec"])
        fields["requirements"] = tuple(fields["requirements"])
        return cls(**fields)
