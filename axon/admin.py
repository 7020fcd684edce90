"""Whole-API operations behind ``axon delete``, kept out of the CLI so every caller does them the same way."""

from __future__ import annotations

from axon.autoscaler.dynamodb import DynamoDbScalerStateStore
from axon.autoscaler.store import ScalerStateStore
from axon.deps import Deps
from axon.registry import VersionStatus

DELETED_MESSAGE = "the API was deleted"


def delete_api(deps: Deps, api: str, store: ScalerStateStore | None = None) -> None:
    """Take ``api`` down: its platform resources, its autoscaler state and decisions; then mark it deleted.

    The live version (if any) becomes superseded with no traffic; the history and the bundles stay. ``store`` is
    the autoscaler's state store (default: the DynamoDB one on the registry table). Running it again is harmless.
    """
    record = deps.registry.get_api(api)
    if record is None:
        return
    name = record.api
    deps.platform_for(record.platform).delete_api(name)
    if store is None:
        store = DynamoDbScalerStateStore(deps.settings.registry_table, deps.client("dynamodb"))
    store.forget(name)
    if record.live_seq is not None:
        deps.registry.set_status(name, record.live_seq, VersionStatus.SUPERSEDED, DELETED_MESSAGE, traffic_percent=0)
    deps.registry.mark_deleted(name)
