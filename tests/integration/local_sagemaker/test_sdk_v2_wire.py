"""SageMaker Python SDK v2 client code works against an axon endpoint: it is one InvokeEndpoint on the wire.

``sagemaker.predictor.Predictor(name, serializer=JSONSerializer(), deserializer=JSONDeserializer()).predict(data)``
(SDK v2) calls ``sagemaker-runtime`` ``InvokeEndpoint`` with ``Body=json.dumps(data)``,
``ContentType="application/json"`` (``JSONSerializer.CONTENT_TYPE``) and ``Accept="application/json"``
(``JSONDeserializer.ACCEPT``), then ``json.load``s the body. This test makes exactly that request with boto3 (v2
itself is not installed: the ``sdk`` extra is v3), against the real serving runtime (``axon-serve``) behind the
local stack's front door, serving ``examples/iris-numpy`` as ``axon deploy`` packs it (docs/sdk.md).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from axon.cli.packing import pack
from axon_local.dataplane import axon_serve_command
from tests.integration.local_sagemaker.conftest import BUCKET, IMAGE, make_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

IRIS = Path(__file__).resolve().parents[3] / "examples" / "iris-numpy"


def test_v2_json_serializer_and_deserializer_request(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, command=axon_serve_command, publish_in_flight=False)
    try:
        packed = io.BytesIO()
        pack(IRIS, packed)
        stack.s3.put_object(Bucket=BUCKET, Key="apis/iris/bundle.tar.gz", Body=packed.getvalue())
        stack.sm.create_model(
            ModelName="iris",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/apis/iris/bundle.tar.gz"},
        )
        stack.sm.create_endpoint_config(
            EndpointConfigName="iris",
            ProductionVariants=[
                {"VariantName": "v-1", "ModelName": "iris", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
        stack.sm.create_endpoint(EndpointName="axon-iris", EndpointConfigName="iris")
        stack.sm.get_waiter("endpoint_in_service").wait(
            EndpointName="axon-iris", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )

        data = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
        answer = stack.runtime.invoke_endpoint(
            EndpointName="axon-iris",
            Body=json.dumps(data).encode(),  # JSONSerializer.serialize(data)
            ContentType="application/json",  # JSONSerializer.CONTENT_TYPE
            Accept="application/json",  # JSONDeserializer.ACCEPT
        )

        assert answer["ContentType"] == "application/json"
        assert json.load(answer["Body"]) == {"predictions": ["setosa", "virginica"]}  # JSONDeserializer
    finally:
        stack.door.close()
