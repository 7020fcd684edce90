"""Endpoint creation, failure and deletion on the emulator, with a recording fleet and virtual time."""

from __future__ import annotations

import time

import pytest

from tests.unit.local.conftest import IMAGE, ApiError, Local, make_local


def test_create_goes_in_service_once_the_fleet_passes_ping(local: Local) -> None:
    seen: list[str] = []
    local.fleet.on_route = lambda: seen.append(local.describe()["EndpointStatus"])
    local.endpoint(count=2)
    body = local.describe()
    assert body["EndpointStatus"] == "InService"
    assert seen == ["Creating"]  # traffic is routed before the endpoint reports InService
    assert local.fleet.kinds("launch") == [("cfg-v1", [("AllTraffic", 2)])]
    [variant] = body["ProductionVariants"]
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 2
    assert variant["CurrentWeight"] == 1.0
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    assert variant["DeployedImages"][0]["ResolvedImage"].startswith(IMAGE.rsplit(":", 1)[0] + "@sha256:")
    assert "PendingDeploymentSummary" not in body and "FailureReason" not in body
    assert isinstance(body["CreationTime"], float)
    assert body["EndpointArn"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/axon-iris"


def test_create_shows_creating_while_the_fleet_starts() -> None:
    local = make_local(background=True)
    local.fleet.hold_launches()
    local.endpoint()
    body = local.describe()
    assert body["EndpointStatus"] == "Creating"
    assert body["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    with pytest.raises(ApiError, match="Cannot update in-progress endpoint"):
        local.api(
            "UpdateEndpointWeightsAndCapacities",
            EndpointName="axon-iris",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
        )
    local.fleet.release()
    deadline = time.monotonic() + 5
    while local.describe()["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    local.emulator.close()


def test_create_fails_with_the_fleet_reason_and_stops_it(local: Local) -> None:
    local.fleet.fail_next_launch("axon-iris", "did not pass the ping health check")
    local.endpoint()
    body = local.describe()
    assert body["EndpointStatus"] == "Failed"
    assert body["FailureReason"] == "did not pass the ping health check"
    assert local.fleet.kinds("terminate") == ["cfg-v1"]
    assert local.fleet.routes() == []
    with pytest.raises(ApiError, match="Cannot update in-progress endpoint"):
        local.api("UpdateEndpoint", EndpointName="axon-iris", EndpointConfigName="cfg-v1")


def test_delete_stops_every_fleet_and_forgets_the_endpoint(local: Local) -> None:
    local.endpoint()
    local.api("DeleteEndpoint", EndpointName="axon-iris")
    assert local.fleet.live == set()
    assert local.fleet.routes()[-1][1] == []
    with pytest.raises(ApiError) as error:
        local.describe()
    assert (error.value.code, error.value.message) == ("ValidationException", 'Could not find endpoint "axon-iris".')


def test_delete_during_a_bake_cancels_the_rollout_and_stops_both_fleets() -> None:
    local = make_local(background=True)
    local.endpoint()
    deadline = time.monotonic() + 5
    while local.describe()["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    local.fleet.hold_launches()  # the new fleet's launch blocks until released
    local.model("model-cfg-v2")
    local.config("cfg-v2", "model-cfg-v2")
    local.api("UpdateEndpoint", EndpointName="axon-iris", EndpointConfigName="cfg-v2")
    local.api("DeleteEndpoint", EndpointName="axon-iris")
    assert local.describe()["EndpointStatus"] == "Deleting"
    with pytest.raises(ApiError, match="while it is being deleted"):
        local.api("DeleteEndpoint", EndpointName="axon-iris")
    local.fleet.release()
    local.emulator.close()
    assert local.fleet.live == set()
    assert sorted(local.fleet.kinds("terminate")) == ["cfg-v1", "cfg-v2"]
    with pytest.raises(ApiError, match="Could not find endpoint"):
        local.describe()


def test_close_deletes_every_endpoint(local: Local) -> None:
    local.endpoint("axon-a", "cfg-a")
    local.endpoint("axon-b", "cfg-b")
    local.emulator.close()
    assert local.fleet.live == set()
    assert local.api("ListEndpoints")["Endpoints"] == []


def test_models_and_configs_round_trip_and_delete(local: Local) -> None:
    local.model("m1")
    model = local.api("DescribeModel", ModelName="m1")
    assert model["PrimaryContainer"]["Environment"] == {"K": "V"}
    assert model["ModelArn"].endswith(":model/m1")
    local.config("c1", "m1", count=3)
    config = local.api("DescribeEndpointConfig", EndpointConfigName="c1")
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3
    local.api("DeleteEndpointConfig", EndpointConfigName="c1")
    local.api("DeleteModel", ModelName="m1")
    with pytest.raises(ApiError, match='Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m1"'):
        local.api("DescribeModel", ModelName="m1")
    with pytest.raises(ApiError, match="Could not find endpoint configuration"):
        local.api("DeleteEndpointConfig", EndpointConfigName="c1")


def test_list_endpoints_filters_sorts_and_pages(local: Local) -> None:
    for name in ("axon-b", "axon-a", "axon-c"):
        local.endpoint(name, f"cfg-{name}")
        local.clock.sleep(1)
    names = [e["EndpointName"] for e in local.api("ListEndpoints", SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    assert names == ["axon-a", "axon-b", "axon-c"]
    first = local.api("ListEndpoints", MaxResults=2)
    assert [e["EndpointName"] for e in first["Endpoints"]] == ["axon-c", "axon-a"]  # newest first by default
    rest = local.api("ListEndpoints", MaxResults=2, NextToken=first["NextToken"])
    assert [e["EndpointName"] for e in rest["Endpoints"]] == ["axon-b"] and "NextToken" not in rest
    assert [e["EndpointName"] for e in local.api("ListEndpoints", NameContains="-a")["Endpoints"]] == ["axon-a"]
    assert local.api("ListEndpoints", StatusEquals="Failed")["Endpoints"] == []
    created_b = local.describe("axon-b")["CreationTime"]
    after = local.api("ListEndpoints", CreationTimeAfter=created_b)["Endpoints"]
    assert [e["EndpointName"] for e in after] == ["axon-c", "axon-a"]
    with pytest.raises(ApiError, match="Invalid NextToken"):
        local.api("ListEndpoints", NextToken="zzz")


def test_models_and_configs_are_listed_filtered_and_paged(local: Local) -> None:
    for name in ("axon-iris-v1", "axon-iris-v2", "other-v1"):
        local.model(name)
        local.config(name, name)
        local.clock.sleep(1)
    models = local.api("ListModels", NameContains="axon-iris-", SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in models] == ["axon-iris-v1", "axon-iris-v2"]
    assert models[0]["ModelArn"].endswith(":model/axon-iris-v1") and isinstance(models[0]["CreationTime"], float)
    first = local.api("ListEndpointConfigs", MaxResults=2)
    assert [c["EndpointConfigName"] for c in first["EndpointConfigs"]] == ["other-v1", "axon-iris-v2"]
    rest = local.api("ListEndpointConfigs", MaxResults=2, NextToken=first["NextToken"])
    assert [c["EndpointConfigName"] for c in rest["EndpointConfigs"]] == ["axon-iris-v1"] and "NextToken" not in rest
