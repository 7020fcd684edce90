"""InvokeEndpointWithResponseStream end to end: boto3's real client against the local front door, the real
serving runtime streaming a generator predictor, and the response read through botocore's event-stream parser."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import EventStreamError

from axon.cli.predict import ModelError, _stream_sagemaker
from axon_local.dataplane import axon_serve_command
from tests.integration.local_sagemaker.conftest import IMAGE, make_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PREDICTOR = """
import time


class Predictor:
    def __init__(self, config, model_dir):
        pass

    def predict(self, payload):
        for index in range(payload["n"]):
            if index == payload.get("fail_after"):
                raise RuntimeError("the model broke")
            if index:
                time.sleep(payload.get("delay", 0))
            yield {"token": index}
"""


def test_boto3_reads_a_streamed_response_part_by_part(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, command=axon_serve_command, publish_in_flight=False)
    try:
        url = stack.upload("apis/talk/v1.tar.gz", {"predictor.py": PREDICTOR})
        stack.sm.create_model(ModelName="talk", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
        stack.sm.create_endpoint_config(
            EndpointConfigName="talk",
            ProductionVariants=[
                {"VariantName": "v-1", "ModelName": "talk", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
        stack.sm.create_endpoint(EndpointName="axon-talk", EndpointConfigName="talk")
        stack.sm.get_waiter("endpoint_in_service").wait(
            EndpointName="axon-talk", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )

        started = time.perf_counter()
        response = stack.runtime.invoke_endpoint_with_response_stream(
            EndpointName="axon-talk",
            Body=b'{"n": 4, "delay": 0.2}',
            ContentType="application/json",
            Accept="application/jsonlines",
        )
        assert response["ContentType"] == "application/jsonlines"
        assert response["InvokedProductionVariant"] == "v-1"
        parts: list[tuple[float, bytes]] = []
        for event in response["Body"]:
            parts.append((time.perf_counter() - started, event["PayloadPart"]["Bytes"]))
        assert b"".join(part for _, part in parts) == b"".join(b'{"token":%d}\n' % i for i in range(4))
        assert len(parts) >= 2 and parts[0][0] < 0.4 and parts[-1][0] >= 0.6  # the first part did not wait

        broken = stack.runtime.invoke_endpoint_with_response_stream(
            EndpointName="axon-talk", Body=b'{"n": 4, "fail_after": 1}', ContentType="application/json"
        )
        received = b""
        with pytest.raises(EventStreamError) as raised:
            for event in broken["Body"]:
                received += event["PayloadPart"]["Bytes"]
        assert raised.value.response["Error"]["Code"] == "ModelStreamError"
        assert received.startswith(b'{"token":0}\n{"error":{"code":"serving.predictor_error"')

        # axon predict --stream's SageMaker path, against the same door: parts written as they arrive.
        written: list[tuple[float, bytes]] = []
        started = time.perf_counter()
        cli: Any = SimpleNamespace(client=lambda service: stack.runtime)
        payload = b'{"n": 3, "delay": 0.2}'
        _stream_sagemaker(
            cli, "talk", payload, "application/json", lambda b: written.append((time.perf_counter() - started, b))
        )
        assert b"".join(chunk for _, chunk in written) == b'{"token":0}\n{"token":1}\n{"token":2}\n'
        assert written[0][0] < 0.3 and written[-1][0] >= 0.4
        with pytest.raises(ModelError, match="talk's answer broke off: ModelStreamError"):
            _stream_sagemaker(cli, "talk", b'{"n": 3, "fail_after": 1}', "application/json", lambda b: None)

        # The same predictor through plain InvokeEndpoint: the whole stream as one body.
        whole = stack.runtime.invoke_endpoint(
            EndpointName="axon-talk", Body=b'{"n": 2}', ContentType="application/json"
        )
        assert whole["Body"].read() == b'{"token":0}\n{"token":1}\n'
    finally:
        stack.door.close()
