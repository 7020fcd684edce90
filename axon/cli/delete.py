"""``axon delete NAME``: take the API down and forget its scaling state; its history stays, bundles too unless
``--purge``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer

from axon import names
from axon.cli import render
from axon.cli.context import context_of
from axon.cli.errors import CliError, DeleteRefusedError
from axon.cli.options import ApiArgument, valid_api
from axon.cli.status import derive_status
from axon.registry import DynamoDBRegistry, VersionStatus, keys

_DELETE_BATCH = 1000  # DeleteObjects' limit
_WRITE_BATCH = 25  # BatchWriteItem's limit
_WRITE_ATTEMPTS = 5


def _scaler_keys(registry: DynamoDBRegistry, api: str) -> Iterator[dict[str, Any]]:
    pk = {"S": keys.api_pk(api)}
    yield {keys.PARTITION_KEY: pk, keys.SORT_KEY: {"S": keys.SCALER}}
    pages = registry.client.get_paginator("query").paginate(
        TableName=registry.table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": pk, ":prefix": {"S": keys.DECISION_PREFIX}},
        ProjectionExpression="pk, sk",
    )
    for page in pages:
        yield from page.get("Items", [])


def delete_scaler_state(registry: DynamoDBRegistry, api: str) -> None:
    """Delete the autoscaler's ``SCALER`` item and its ``DECISION#`` log, so a redeploy starts from scratch."""
    items = list(_scaler_keys(registry, api))
    for start in range(0, len(items), _WRITE_BATCH):
        requests: list[Any] = [{"DeleteRequest": {"Key": key}} for key in items[start : start + _WRITE_BATCH]]
        for _ in range(_WRITE_ATTEMPTS):
            response = registry.client.batch_write_item(RequestItems={registry.table: requests})
            requests = response.get("UnprocessedItems", {}).get(registry.table, [])
            if not requests:
                break
        else:
            raise CliError(f"DynamoDB left {len(requests)} autoscaler items of {api} undeleted; run delete again")


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


def delete(
    ctx: typer.Context,
    name: ApiArgument,
    purge: Annotated[bool, typer.Option("--purge", help="also delete every uploaded bundle and kept copy")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete NAME's endpoint (or service), configs, models, alarms and autoscaler state; mark it deleted."""
    cli = context_of(ctx)
    api = cli.api(valid_api(name))
    versions = cli.registry.list_versions(name)
    if derive_status(api, versions, cli.now()) == "updating":
        raise DeleteRefusedError(f"a rollout of {name} is running: wait for it to end (axon get {name})")
    what = "endpoint, configs, models, alarms and autoscaler state" + (" and every bundle" if purge else "")
    if not yes:
        typer.confirm(f"delete {name}: {what}?", abort=True)
    cli.platform_for(api.platform).delete_api(name)
    delete_scaler_state(cli.registry, name)
    if api.live_seq is not None:
        cli.registry.set_status(name, api.live_seq, VersionStatus.SUPERSEDED, "the API was deleted", traffic_percent=0)
    cli.registry.mark_deleted(name)
    console = render.stdout()
    console.print(f"deleted {name} ({names.endpoint_name(name)})", markup=False)
    if purge:
        # Uploads live under apis/<api>/, and the workflow's immutable copies under versions/<api>/
        # (axon.rollout.versions.immutable_bundle_key).
        count = purge_bundles(
            cli.client("s3"), cli.deployment.bucket, [names.bundle_key(name, ""), f"versions/{name}/"]
        )
        console.print(f"purged {count} object versions of {name}'s bundles", markup=False)
