import boto3
import pytest
from botocore.exceptions import ClientError

from axon_local.patches import invocation_outcomes


def _endpoint(name: str = "axon-iris") -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="c")


def test_unknown_endpoints_are_refused_and_known_ones_answer(aws: None) -> None:
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="axon-nope", Body=b"{}", ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "axon-nope" in caught.value.response["Error"]["Message"]
    _endpoint()
    answer = runtime.invoke_endpoint(EndpointName="axon-iris", Body=b"{}", ContentType="application/json")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_forced_model_errors_have_sagemakers_shape_until_cleared(aws: None) -> None:
    _endpoint()
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    invocation_outcomes.fail("axon-iris", status=500, message="boom")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="axon-iris", Body=b"{}", ContentType="application/json")
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError" and error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 500 and error["OriginalMessage"] == "boom"
    invocation_outcomes.clear()
    runtime.invoke_endpoint(EndpointName="axon-iris", Body=b"{}", ContentType="application/json")
