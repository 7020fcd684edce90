"""``axon deploy DIR --api NAME``: pack, check, upload; the upload itself starts the rollout, which we follow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from axon import names
from axon.bundle import inspect_bundle
from axon.cli import render
from axon.cli.context import CliContext, context_of
from axon.cli.follow import report_upload
from axon.cli.options import Output, valid_api
from axon.cli.packing import pack
from axon.cli.transfer import upload


def _upload_with_progress(cli: CliContext, bundle: Path, bucket: str, key: str) -> str:
    size = bundle.stat().st_size
    columns = (TextColumn("uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=render.stderr(), transient=True) as bar:
        task = bar.add_task("upload", total=size)
        return upload(cli.client("s3"), bundle, bucket, key, progress=lambda sent: bar.advance(task, sent))


def deploy(ctx: typer.Context, directory: Path, api: str, *, wait: bool, timeout: float, output: Output) -> None:
    """``axon deploy``, run by :func:`axon.cli.app.deploy` (which declares its options and help)."""
    cli = context_of(ctx)
    valid_api(api)
    console = render.stdout() if output == Output.table else render.stderr()
    with tempfile.TemporaryDirectory(prefix="axon-deploy-") as scratch:
        bundle = Path(scratch) / "bundle.tar.gz"
        with bundle.open("wb") as out:
            members = pack(directory, out)
        # The workflow's own inspector, run here first: a bundle it would refuse is refused before the upload.
        with bundle.open("rb") as packed:
            inspect_bundle(packed, api=api)
        bucket, key = cli.deployment.bucket, names.bundle_key(api)
        version_id = _upload_with_progress(cli, bundle, bucket, key)
        size = bundle.stat().st_size
    console.print(
        f"uploaded s3://{bucket}/{key} ({members} members, {size} bytes), VersionId {version_id}", markup=False
    )
    if not wait and output == Output.table:
        console.print(f"the rollout starts on its own; watch it with `axon get {api}`", markup=False)
    report_upload(cli, api, version_id, wait=wait, timeout=timeout, output=output)
