"""DescribeEndpoint and List* bodies from the records, with AWS's field names (protocol.py shapes them)."""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.utils import parse_timestamp

from axon_local.sagemaker.errors import validation_error
from axon_local.sagemaker.records import EndpointRecord, FleetRecord, StatusNote, VariantState


def resolved_image(image: str) -> str:
    """``repo@sha256:...`` as SageMaker reports the digest it pulled; local images are named, so hash the name."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _status(note: StatusNote | None) -> list[dict[str, Any]] | None:
    if note is None:
        return None
    return [{"Status": note.status, "StatusMessage": note.message, "StartTime": note.start_time}]


def _variant(variant: VariantState, fleet: FleetRecord, *, share: float | None = None) -> dict[str, Any]:
    """A variant as DescribeEndpoint lists it; ``share`` is the new fleet's traffic share when it is pending."""
    body: dict[str, Any] = {
        "VariantName": variant.spec.name,
        "DeployedImages": [
            {
                "SpecifiedImage": variant.spec.image,
                "ResolvedImage": resolved_image(variant.spec.image),
                "ResolutionTime": fleet.resolution_time,
            }
        ],
        "CurrentWeight": variant.current_weight if share is None else variant.desired_weight * share,
        "DesiredWeight": variant.desired_weight,
        "CurrentInstanceCount": variant.current_count,
        "DesiredInstanceCount": variant.desired_count,
        "VariantStatus": _status(fleet.note),
    }
    if share is not None:
        body["InstanceType"] = variant.instance_type
    return body


def describe_endpoint(endpoint: EndpointRecord) -> dict[str, Any]:
    # While Creating, the fleet being launched is the only one: SageMaker lists it as the endpoint's variants.
    fleet = endpoint.live or (endpoint.pending.fleet if endpoint.pending and endpoint.live is None else None)
    body: dict[str, Any] = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.config_name,
        "EndpointStatus": endpoint.status,
        "FailureReason": endpoint.failure_reason,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified,
        "LastDeploymentConfig": endpoint.last_deployment_config,
    }
    if fleet is not None:
        body["ProductionVariants"] = [_variant(v, fleet) for v in fleet.variants.values()]
    if endpoint.pending is not None and endpoint.live is not None:
        green = endpoint.pending.fleet
        body["PendingDeploymentSummary"] = {
            "EndpointConfigName": endpoint.pending.config_name,
            "ProductionVariants": [
                _variant(v, green, share=endpoint.pending.green_fraction) for v in green.variants.values()
            ],
            "StartTime": endpoint.pending.start_time,
        }
    return body


def endpoint_summary(endpoint: EndpointRecord) -> dict[str, Any]:
    return {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified,
        "EndpointStatus": endpoint.status,
    }


_BOUNDS = {
    "CreationTimeBefore": ("CreationTime", -1),
    "CreationTimeAfter": ("CreationTime", 1),
    "LastModifiedTimeBefore": ("LastModifiedTime", -1),
    "LastModifiedTimeAfter": ("LastModifiedTime", 1),
}


def listed(items: list[dict[str, Any]], params: dict[str, Any], key: str, name_field: str) -> dict[str, Any]:
    """One page of a List* answer: filtered, sorted (newest first by default) and paged as SageMaker does."""
    for bound, (field, sign) in _BOUNDS.items():
        if bound in params:
            limit = parse_timestamp(params[bound]).timestamp()
            items = [i for i in items if (i[field] - limit) * sign > 0]
    if "NameContains" in params:
        items = [i for i in items if params["NameContains"] in i[name_field]]
    if "StatusEquals" in params:
        items = [i for i in items if i["EndpointStatus"] == params["StatusEquals"]]
    sort_key = {"Name": name_field, "Status": "EndpointStatus"}.get(params.get("SortBy", ""), "CreationTime")
    items.sort(key=lambda i: i[sort_key], reverse=params.get("SortOrder", "Descending") == "Descending")
    token = params.get("NextToken", "0")
    if not token.isdigit():
        raise validation_error(f"Invalid NextToken: {token}")
    start = int(token)
    size = int(params.get("MaxResults", 10))
    body: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return body
