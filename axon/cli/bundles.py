"""``axon pack DIR`` and ``axon validate DIR|FILE``: the workflow's own bundle inspector, offline.

"Drop a bundle into S3 with any client" needs tooling behind it: ``pack`` makes the reproducible archive
``deploy`` would upload, and ``validate`` runs the very inspection the Validate step runs (no AWS call, no user
code run), on a directory or on an archive made by any tool, so a bundle the workflow would refuse is refused
here first, with the same reason code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from axon.bundle import BundleReport, inspect_bundle
from axon.cli import render
from axon.cli.errors import InvalidInputError
from axon.cli.options import Output, valid_api
from axon.cli.packing import pack


def _view(report: BundleReport, archive: Path, api: str | None) -> dict[str, Any]:
    spec = report.spec
    return {
        "bundle": str(archive),
        "bytes": archive.stat().st_size,
        "members": report.member_count,
        "api": api or spec.name,
        "style": spec.predictor.type,
        "predictor": report.predictor_path,
        "platform": spec.compute.platform,
        "instance_type": spec.compute.instance_type,
        "gpu": spec.compute.gpu,
        "strategy": spec.rollout.strategy,
        "requirements": report.requirements_text.splitlines(),
    }


def _inspect(archive: Path, api: str | None) -> BundleReport:
    with archive.open("rb") as packed:
        return inspect_bundle(packed, api=api)


def _show(view: dict[str, Any], output: Output, verdict: str) -> None:
    if output == Output.json:
        render.emit_json(view)
        return
    console = render.stdout()
    console.print(verdict, markup=False)
    for key, value in view.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        console.print(f"  {key:14} {'-' if shown in (None, '') else shown}", markup=False)


def pack_bundle(directory: Path, output_file: Path | None, api: str | None, output: Output) -> None:
    """``axon pack``: DIR -> a checked ``.tar.gz`` (default ``<DIR>.tar.gz`` beside it)."""
    if api is not None:
        valid_api(api)
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a directory")
    root = directory.resolve()
    target = output_file or root.parent / f"{root.name}.tar.gz"  # with_suffix would eat a dotted name's tail
    with target.open("wb") as out:
        pack(directory, out)
    report = _inspect(target, api)
    _show(_view(report, target, api), output, f"packed {directory} into {target}: the workflow would accept it")


def validate_bundle(path: Path, api: str | None, output: Output) -> None:
    """``axon validate``: a directory is packed as ``deploy`` packs it; an archive is read as uploaded."""
    if api is not None:
        valid_api(api)
    if path.is_dir():
        with tempfile.TemporaryDirectory(prefix="axon-validate-") as scratch:
            archive = Path(scratch) / "bundle.tar.gz"
            with archive.open("wb") as out:
                pack(path, out)
            _show(_view(_inspect(archive, api), archive, api) | {"bundle": str(path)}, output, _verdict(path))
        return
    if not path.is_file():
        raise InvalidInputError(f"{path} is neither a directory nor a file")
    _show(_view(_inspect(path, api), path, api), output, _verdict(path))


def _verdict(path: Path) -> str:
    return f"{path}: valid, the workflow would accept it"
