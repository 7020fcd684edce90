"""One SageMaker endpoint on the local stack's front door, for benchmarks that go through boto3 as a client would.

The front door serves every AWS API the stack emulates on one port; the endpoint runs the token predictor
(``predictors/tokens.py``) under a real ``axon-serve``. With ``async_inference`` the endpoint config carries
SageMaker's ``AsyncInferenceConfig`` (outputs under ``results/``, two SNS topics), so InvokeEndpointAsync answers.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.serving.targets import HERE

BUCKET = "axon-models"
ENDPOINT = "axon-talk"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-local"


def bundle(spec: str) -> bytes:
    """A bundle of ``axon.yaml`` (``spec``) and the token predictor, as a tar.gz."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (
            ("axon.yaml", spec.encode()),
            ("predictor.py", (HERE / "predictors/tokens.py").read_bytes()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def local_endpoint(spec: str, *, async_inference: bool = False) -> Iterator[dict[str, Any]]:
    """Start the front door, create the endpoint from ``spec`` and wait for it; yields boto3 clients by service."""
    import boto3
    from botocore.config import Config

    from axon_local.dataplane import FleetTimeouts, axon_serve_command
    from axon_local.frontdoor import FrontDoorOptions, serve

    with tempfile.TemporaryDirectory() as folder:
        options = FrontDoorOptions(
            cache_dir=Path(folder),
            serve_command=axon_serve_command,
            publish_in_flight=False,
            timeouts=FleetTimeouts(ping_seconds=30, drain_seconds=5, stop_grace_seconds=5),
        )
        door = serve(0, options)
        try:
            config = Config(retries={"max_attempts": 1})
            keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
            clients = {
                name: boto3.client(name, endpoint_url=door.url, config=config, **keys)  # type: ignore[call-overload]
                for name in ("s3", "sns", "sagemaker", "sagemaker-runtime")
            }
            clients["s3"].create_bucket(Bucket=BUCKET)
            clients["s3"].put_object(Bucket=BUCKET, Key="apis/talk/v1.tar.gz", Body=bundle(spec))
            sm = clients["sagemaker"]
            sm.create_model(
                ModelName="talk",
                PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/apis/talk/v1.tar.gz"},
            )
            variant = {
                "VariantName": "v",
                "ModelName": "talk",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
            extra: dict[str, Any] = {}
            if async_inference:
                topics = [clients["sns"].create_topic(Name=f"talk-{o}")["TopicArn"] for o in ("success", "error")]
                extra["AsyncInferenceConfig"] = {
                    "OutputConfig": {
                        "S3OutputPath": f"s3://{BUCKET}/results/talk/",
                        "S3FailurePath": f"s3://{BUCKET}/results/talk/failures/",
                        "NotificationConfig": {"SuccessTopic": topics[0], "ErrorTopic": topics[1]},
                    },
                    "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
                }
            sm.create_endpoint_config(EndpointConfigName="talk", ProductionVariants=[variant], **extra)
            sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="talk")
            sm.get_waiter("endpoint_in_service").wait(
                EndpointName=ENDPOINT, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
            )
            yield clients
        finally:
            door.close()
