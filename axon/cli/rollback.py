"""``axon rollback NAME [--to VERSION]``: roll a kept version out again, through the normal workflow.

The target's uploaded object version is copied onto the API's bundle key. That creates a new object version, so
the rollback is an ordinary rollout: the same checks, the same blue-green shift, and (its requirements being
unchanged) an image cache hit. Nothing bypasses the workflow, so a rollback can itself be rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer
from botocore.exceptions import ClientError

from axon import names
from axon.cli import render
from axon.cli.context import context_of
from axon.cli.errors import NotFoundError, RollbackRefusedError
from axon.cli.follow import report_upload
from axon.cli.options import Output, valid_api
from axon.cli.status import live_version
from axon.cli.transfer import copy_version
from axon.registry import ApiRecord, VersionRecord
from axon.rollout.release import KEEP_VERSIONS, kept, went_live


def choose_target(api: ApiRecord, versions: Sequence[VersionRecord], to: str | None) -> VersionRecord:
    """The version to roll back to: ``to`` (label or VersionId), else the one live before the current one."""
    if api.deleted:
        raise RollbackRefusedError(f"{api.api} is deleted: deploy it again instead")
    live = live_version(api, versions)
    if to is None:
        if live is None:
            raise RollbackRefusedError(f"nothing of {api.api} is live, so there is nothing to roll back from")
        earlier = [v for v in versions if v.seq < live.seq and went_live(v)]
        if not earlier:
            raise RollbackRefusedError(f"no version of {api.api} was live before {live.version}")
        target = max(earlier, key=lambda v: v.seq)
    else:
        found = next((v for v in versions if to in (v.version, v.version_id)), None)
        if found is None:
            raise NotFoundError(f"{api.api} has no version {to!r} (see `axon history {api.api}`)")
        target = found
        if live is not None and target.seq == live.seq:
            raise RollbackRefusedError(f"{target.version} is already live")
        if not went_live(target):
            raise RollbackRefusedError(
                f"{target.version} never went live ({target.status.value}): only a version that served can return"
            )
    if target.seq not in kept(versions):
        raise RollbackRefusedError(
            f"{target.version} was pruned: only the last {KEEP_VERSIONS} versions that went live keep their "
            "model and config"
        )
    return target


def rollback(ctx: typer.Context, name: str, to: str | None, *, wait: bool, timeout: float, output: Output) -> None:
    """``axon rollback``, run by :func:`axon.cli.app.rollback` (which declares its options and help)."""
    cli = context_of(ctx)
    api = cli.api(valid_api(name))
    target = choose_target(api, cli.registry.list_versions(name), to)
    s3 = cli.client("s3")
    source = {"Bucket": target.bucket, "Key": target.key, "VersionId": target.version_id}
    try:
        s3.head_object(**source)
    except ClientError as error:
        raise RollbackRefusedError(f"the bundle of {target.version} ({target.s3_uri}) is gone from S3") from error
    bucket, key = cli.deployment.bucket, names.bundle_key(name)
    version_id = copy_version(s3, source, bucket, key)
    console = render.stdout() if output == Output.table else render.stderr()
    console.print(
        f"rolling {name} back to {target.version}: copied {target.s3_uri} to s3://{bucket}/{key}, "
        f"VersionId {version_id}",
        markup=False,
    )
    report_upload(cli, name, version_id, wait=wait, timeout=timeout, output=output)
