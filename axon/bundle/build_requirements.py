"""The pip inputs of an image build, made from a bundle's checked requirements (supply-chain policy in one place).

- :func:`pip_requirements` is the file the image installs: the canonical requirements with the build policy on
  top. Binary wheels only (``--only-binary :all:``, so no package's ``setup.py`` runs at build time) unless the
  bundle's ``axon.yaml`` sets ``build.allow_source_builds``. The policy travels inside the file, so the image's
  requirements label hashes it, and local mode installs the very same file.
- :func:`torch_requirements` and :func:`torch_pins` let the Dockerfiles take PyTorch from its own index by
  explicit per-package choice, never by mixing indexes (``--extra-index-url`` lets any index win any name):
  the lines naming a package of :data:`TORCH_PACKAGES` are installed first with ``--index-url <PyTorch index>
  --no-deps``; then everything else comes from PyPI alone under a constraint that pins what that step
  installed, so no requirement can replace torch from PyPI.

``python -m axon.bundle.build_requirements torch FILE`` prints the torch lines of FILE (nothing when none);
``python -m axon.bundle.build_requirements pins`` prints ``name==version`` of each installed torch package.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ONLY_BINARY = "--only-binary :all:"
# Served by the PyTorch index in CPU and CUDA builds; nothing else is ever resolved there.
TORCH_PACKAGES = frozenset({"torch", "torchvision", "torchaudio"})


def pip_requirements(requirements_text: str, *, allow_source_builds: bool) -> str:
    """The requirements file an image build installs: the build policy line, then the bundle's requirements."""
    if allow_source_builds:
        header = "# axon: source distributions allowed (axon.yaml build.allow_source_builds: true)\n"
    else:
        header = f"# axon: binary wheels only (axon.yaml build.allow_source_builds: false)\n{ONLY_BINARY}\n"
    return header + requirements_text


def _name(line: str) -> str | None:
    """The canonical project name of a requirement line; ``None`` for comments and option lines."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):
        return None
    return canonicalize_name(Requirement(text.split(" --hash", 1)[0]).name)


def torch_requirements(requirements_text: str) -> str:
    """The lines of the (canonical) requirements that name a PyTorch-index package, with the wheels-only policy."""
    lines = [line for line in requirements_text.splitlines() if _name(line) in TORCH_PACKAGES]
    return "".join(f"{line}\n" for line in [ONLY_BINARY, *lines]) if lines else ""


def torch_pins() -> str:
    """``name==version`` of each installed PyTorch-index package: the constraint the PyPI step runs under."""
    pins = []
    for name in sorted(TORCH_PACKAGES):
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}\n")
        except importlib.metadata.PackageNotFoundError:
            continue
    return "".join(pins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m axon.bundle.build_requirements")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("torch", help="print the PyTorch-index lines of a requirements file").add_argument("file")
    commands.add_parser("pins", help="print the installed PyTorch-index packages as name==version")
    args = parser.parse_args(argv)
    if args.command == "torch":
        sys.stdout.write(torch_requirements(Path(args.file).read_text()))
    else:
        sys.stdout.write(torch_pins())
    return 0


if __name__ == "__main__":
    sys.exit(main())
