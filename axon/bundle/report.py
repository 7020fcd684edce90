"""What inspection learned about a valid bundle (the workflow records its spec and image key in the registry)."""

from __future__ import annotations

from dataclasses import dataclass

from axon.spec import ApiSpec


@dataclass(frozen=True)
class BundleReport:
    """A bundle that passed every check."""

    spec: ApiSpec
    predictor_path: str
    """Member name of the predictor source (normalized from ``spec.predictor.path``)."""
    requirements_text: str
    """The normalized requirement lines, in file order, each newline-terminated (empty without requirements.txt):
    what the image key hashes and the image build installs."""
    member_count: int
    """Tar entries, directories and links included."""
