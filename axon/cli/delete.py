"""``axon delete NAME``: take the API down and forget its scaling state; its history stays, bundles too unless
``--purge``."""

from __future__ import annotations

from typing import Any

import typer

from axon import names
from axon.admin import delete_api
from axon.cli import render
from axon.cli.context import context_of
from axon.cli.errors import CliError, DeleteRefusedError
from axon.cli.options import Output, valid_api
from axon.cli.status import derive_status

_DELETE_BATCH = 1000  # DeleteObjects' limit


def purge_bundles(s3: Any, bucket: str, prefixes: list[str]) -> int:
    """Delete every object version and delete marker under ``prefixes``; returns how many."""
    doomed = []
    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                doomed.append({"Key": item["Key"], "VersionId": item["VersionId"]})
    for start in range(0, len(doomed), _DELETE_BATCH):
        batch = doomed[start : start + _DELETE_BATCH]
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get("Errors", [])
        if errors:
            first = errors[0]
            raise CliError(
                f"could not delete {first['Key']} ({first['Code']}: {first['Message']}) and {len(errors) - 1} more"
            )
    return len(doomed)


def delete(ctx: typer.Context, name: str, *, purge: bool, yes: bool, output: Output) -> None:
    """``axon delete``, run by :func:`axon.cli.app.delete` (which declares its options and help)."""
    cli = context_of(ctx)
    api = cli.api(valid_api(name))
    versions = cli.registry.list_versions(name)
    if derive_status(api, versions, cli.now()) == "updating":
        raise DeleteRefusedError(f"a rollout of {name} is running: wait for it to end (axon get {name})")
    what = "endpoint, configs, models, alarms and autoscaler state" + (" and every bundle" if purge else "")
    if not yes:
        typer.confirm(f"delete {name}: {what}?", abort=True, err=True)  # stdout stays JSON-only under -o json
    delete_api(cli.deps, name)
    console = render.stdout() if output == Output.table else render.stderr()
    console.print(f"deleted {name} ({names.endpoint_name(name)})", markup=False)
    purged = None
    if purge:
        # Uploads live under apis/<api>/, and the workflow's immutable copies under versions/<api>/
        # (axon.names.immutable_bundle_key).
        purged = purge_bundles(
            cli.client("s3"), cli.deployment.bucket, [names.bundle_key(name, ""), f"{names.VERSIONS_PREFIX}{name}/"]
        )
        console.print(f"purged {purged} object versions of {name}'s bundles", markup=False)
    if output == Output.json:
        render.emit_json(
            {"api": name, "deleted": True, "endpoint": names.endpoint_name(name), "purged_object_versions": purged}
        )
