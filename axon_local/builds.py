"""The image build step's local counterpart: CodeBuild's builds become cached Python environments.

On AWS, CodeBuild reads the bundle's requirements with axon's streamed inspector and pushes a content-addressed
image; here the patched CodeBuild calls :func:`local_image_builder`, which reads the requirements the same way
and makes (once per image key) the environment the replicas run in, under the same build policy (binary wheels
only unless ``build.allow_source_builds``), then records the image in the local ECR.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from axon.bundle import inspect_bundle
from axon.errors import AxonError
from axon_local import images
from axon_local.patches import BuildFailedError, BuildRequest


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def local_image_builder(client: Callable[[str], Any], cache_dir: Path) -> Callable[[BuildRequest], None]:
    def build(request: BuildRequest) -> None:
        env = request.environment
        tag = env.get("AXON_IMAGE_TAG", "")
        if not tag.startswith("rt-"):
            raise BuildFailedError("PRE_BUILD", f"AXON_IMAGE_TAG {tag!r} is not a content-addressed tag")
        bucket, key = _split_s3_uri(env.get("AXON_BUNDLE_URI", ""))
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        try:
            report = inspect_bundle(body, api=env.get("AXON_API", ""))
        except AxonError as error:
            raise BuildFailedError("PRE_BUILD", str(error)) from None
        finally:
            body.close()
        try:
            images.build_image(
                tag.removeprefix("rt-"),
                report.requirements_text,
                ecr=client("ecr"),
                cache_dir=cache_dir,
                allow_source_builds=report.spec.build.allow_source_builds,
            )
        except images.ImageBuildError as error:
            raise BuildFailedError("BUILD", str(error)) from None

    return build
