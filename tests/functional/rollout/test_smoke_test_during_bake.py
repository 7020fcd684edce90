"""A smoke test that fails while SageMaker's blue/green update is still baking, through the real ASL.

No API stops a SageMaker deployment: axon trips the update's 5xx rollback alarm (``SageMakerPlatform._stop_update``)
and SageMaker rolls the update back itself. The in-memory fleet bakes at once, so the update is held in its bake
(``hold_traffic``) until the rollout has ended; released, the emulator's bake sees the alarm and rolls back.
"""

from __future__ import annotations

from axon.registry import VersionStatus
from axon_local.patches import invocation_outcomes, sagemaker_fleet
from tests.functional.rollout.conftest import Stack, bundle, client

# All at once (100 % on v2 at the first step, so the smoke test is due) with a bake SageMaker watches the alarms in.
V2_SPEC = "rollout: {strategy: all_at_once, bake_seconds: 30}\nsmoke_test: {payload: {x: 1}}\n"


def test_a_smoke_test_failing_during_the_bake_trips_the_rollback_alarm_and_sagemaker_rolls_back(
    stack: Stack,
) -> None:
    stack.push_image()
    first = stack.upload("iris", bundle())
    assert stack.wait_final("iris", first).status == VersionStatus.LIVE
    fleet = sagemaker_fleet()
    fleet.hold_traffic()  # the update stays in its bake until released
    invocation_outcomes.fail("axon-iris", status=500, message="KeyError: 'instances'")

    record = stack.wait_final("iris", stack.upload("iris", bundle(V2_SPEC)))
    assert record.status == VersionStatus.ROLLED_BACK
    assert record.reason is not None and record.reason.code == "smoke_test.failed", record.reason
    assert "KeyError" in record.reason.message
    # The rollout ended while SageMaker was still baking v2: only the alarm can stop that update.
    held = client("sagemaker").describe_endpoint(EndpointName="axon-iris")
    assert held["EndpointStatus"] == "Updating"
    assert held["PendingDeploymentSummary"]["EndpointConfigName"] == "axon-iris-v2"
    (alarm,) = client("cloudwatch").describe_alarms(AlarmNames=["axon-iris-5xx"])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"] == "axon: the new version failed its smoke test"

    fleet.release()
    endpoint = stack.endpoint("iris")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", "axon-iris-v1")
    assert "axon-iris-5xx" in endpoint["FailureReason"]  # SageMaker's own rollback, on the alarm
    assert "PendingDeploymentSummary" not in endpoint
    api = stack.registry.get_api("iris")
    assert api is not None and api.live_seq == 1 and api.lease_owner is None
    assert stack.version("iris", first).status == VersionStatus.LIVE
    # Nothing of v2 is left: traffic back on v1 alone, its fleet stopped, its config and model deleted.
    assert fleet.routes()[-1][1] == [("axon-iris-v1", 1.0)]
    assert "axon-iris-v2" in fleet.kinds("terminate")
    assert [f for f in fleet.live if f.startswith("axon-iris-v2")] == []
    assert stack.sagemaker_resources() == (["axon-iris"], ["axon-iris-v1"], ["axon-iris-v1"])
