"""``aws`` for the buildspec test: the few AWS CLI commands the buildspec runs, served by moto over HTTP.

Each command makes the API call the real CLI makes (boto3 against ``AWS_ENDPOINT_URL``), applies ``--query``
with JMESPath and prints ``--output text`` as the CLI does; a service error prints the CLI's
``An error occurred (Code) when calling the Op operation: ...`` and exits 254. Any other command or option is
refused (exit 252), so a buildspec that starts using one fails the test until this shim learns it.
Every call is appended to ``$AXON_SHIM_LOG`` (``{"tool": "aws", "action": "s3:GetObject", ...}``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import boto3
import jmespath  # type: ignore[import-untyped]
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecr.type_defs import ImageIdentifierTypeDef


def _log(action: str, **detail: str) -> None:
    with open(os.environ["AXON_SHIM_LOG"], "a") as log:
        log.write(json.dumps({"tool": "aws", "action": action, **detail}) + "\n")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\t".join(_text(item) for item in value)
    return "None" if value is None else str(value)


def _print(result: dict[str, Any], query: str | None, output: str) -> None:
    result = {k: v for k, v in result.items() if k != "ResponseMetadata"}
    value = jmespath.search(query, result) if query else result
    print(_text(value) if output == "text" else json.dumps(value, indent=4, default=str))


def _image_ids(shorthand: str) -> list[ImageIdentifierTypeDef]:
    key, _, value = shorthand.partition("=")
    if key == "imageTag" and value:
        return [{"imageTag": value}]
    if key == "imageDigest" and value:
        return [{"imageDigest": value}]
    raise SystemExit(f"aws: bad --image-ids {shorthand!r}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aws", exit_on_error=False)
    parser.add_argument("service", choices=["sts", "ecr", "s3"])
    parser.add_argument("operation")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    parser.add_argument("--output", choices=["text", "json"], default="json")
    parser.add_argument("--query")
    parser.add_argument("--repository-name")
    parser.add_argument("--image-ids")
    parser.add_argument("paths", nargs="*")
    try:
        args = parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as error:
        print(f"aws: unsupported command {argv}: {error}", file=sys.stderr)
        return 252
    command = (args.service, args.operation)
    try:
        if command == ("sts", "get-caller-identity"):
            _log("sts:GetCallerIdentity")
            _print(dict(boto3.client("sts", region_name=args.region).get_caller_identity()), args.query, args.output)
        elif command == ("ecr", "describe-images") and args.repository_name and args.image_ids:
            _log("ecr:DescribeImages", repository=args.repository_name)
            ecr = boto3.client("ecr", region_name=args.region)
            result = ecr.describe_images(repositoryName=args.repository_name, imageIds=_image_ids(args.image_ids))
            _print(dict(result), args.query, args.output)
        elif command == ("ecr", "get-login-password") and not args.query:
            _log("ecr:GetAuthorizationToken")
            data = boto3.client("ecr", region_name=args.region).get_authorization_token()["authorizationData"][0]
            print(base64.b64decode(data["authorizationToken"]).decode().partition(":")[2])
        elif command == ("s3", "cp") and len(args.paths) == 2 and args.paths[1] == "-":
            bucket, _, key = args.paths[0].removeprefix("s3://").partition("/")
            _log("s3:GetObject", bucket=bucket, key=key)
            body = boto3.client("s3", region_name=args.region).get_object(Bucket=bucket, Key=key)["Body"]
            for chunk in iter(lambda: body.read(1 << 16), b""):
                sys.stdout.buffer.write(chunk)
        else:
            print(f"aws: unsupported command {argv}", file=sys.stderr)
            return 252
    except ClientError as error:
        code, message = error.response["Error"].get("Code"), error.response["Error"].get("Message")
        print(
            f"\nAn error occurred ({code}) when calling the {error.operation_name} operation: {message}",
            file=sys.stderr,
        )
        return 254
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
