"""The ECS async request message: SageMaker's field names, and nothing outside the API's own prefixes."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from axon import names
from axon.async_message import AsyncRequest, InputTooLargeError, InvalidMessageError, read_input


def test_a_request_round_trips_with_invoke_endpoint_async_field_names() -> None:
    request = AsyncRequest.for_api("echo", "axon-models", "abc", content_type="application/json", accept="text/csv")
    body = json.loads(request.to_json())
    assert body == {
        "InferenceId": "abc",
        "InputLocation": "s3://axon-models/inputs/echo/abc",
        "ContentType": "application/json",
        "Accept": "text/csv",
        "RequestTTLSeconds": 21600,
        "OutputLocation": f"s3://axon-models/{names.async_output_key('echo', 'abc')}",
        "FailureLocation": f"s3://axon-models/{names.async_failure_key('echo', 'abc')}",
    }
    assert AsyncRequest.from_json(request.to_json(), "echo") == request


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"InputLocation": "s3://axon-models/inputs/other/abc"}, "not under inputs/echo/"),
        ({"OutputLocation": "s3://axon-models/results/other/abc.out"}, "not under results/echo/"),
        ({"FailureLocation": "s3://elsewhere/results/echo/failures/abc-error.out"}, "one bucket"),
        ({"InputLocation": "s3://axon-models/inputs/echo/../other/x"}, "not under"),
        ({"InferenceId": "../x"}, "InferenceId"),
        ({"RequestTTLSeconds": 59}, "RequestTTLSeconds"),
        ({"InputLocation": "https://example.com/x"}, "s3://"),
    ],
)
def test_a_message_reaching_outside_the_api_is_refused(change: dict[str, object], error: str) -> None:
    body = {**json.loads(AsyncRequest.for_api("echo", "axon-models", "abc").to_json()), **change}
    with pytest.raises(InvalidMessageError, match=error):
        AsyncRequest.from_json(json.dumps(body), "echo")


@pytest.mark.parametrize("text", ["", "[]", "{}", "not json"])
def test_a_body_that_is_no_request_is_refused(text: str) -> None:
    with pytest.raises(InvalidMessageError):
        AsyncRequest.from_json(text, "echo")


def test_an_input_is_sized_before_it_is_read_and_an_empty_one_is_read_too() -> None:
    """One read for the local queue and the ECS worker: too large is refused unread; empty is b"" (S3 refuses a
    range on an empty object: InvalidRange); a ranged read never takes more than the limit."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="axon-models")
        for key, body in (("empty", b""), ("small", b"abc"), ("large", b"x" * 10)):
            s3.put_object(Bucket="axon-models", Key=f"inputs/echo/{key}", Body=body)
        reads: list[str] = []
        real_get = s3.get_object

        def get_object(**kwargs: Any) -> Any:
            reads.append(kwargs["Key"])
            return real_get(**kwargs)

        s3.get_object = get_object
        assert read_input(s3, "s3://axon-models/inputs/echo/empty", 4) == b""
        assert read_input(s3, "s3://axon-models/inputs/echo/small", 4) == b"abc"
        with pytest.raises(InputTooLargeError, match="10 bytes; the limit is 4"):
            read_input(s3, "s3://axon-models/inputs/echo/large", 4)
        assert reads == ["inputs/echo/small"]  # neither the empty nor the large one was fetched
