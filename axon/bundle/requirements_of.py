"""``python -m axon.bundle.requirements_of --api NAME < bundle.tar.gz``: print the image build's requirements file.

The image build (CodeBuild's buildspec) reads requirements this way, inside the serving runtime image with no
network: the same streamed, validating inspection as the control plane, so the build never unpacks a bundle with
tar and never runs user code. The output is :func:`axon.bundle.build_requirements.pip_requirements`: the bundle's
canonical requirements under the build policy its ``axon.yaml`` chose (binary wheels only by default).
"""

from __future__ import annotations

import argparse
import sys

from axon.bundle.build_requirements import pip_requirements
from axon.bundle.errors import BundleError
from axon.bundle.inspect import inspect_bundle
from axon.spec.errors import SpecError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m axon.bundle.requirements_of")
    parser.add_argument("--api", required=True, help="the API the bundle was uploaded for")
    args = parser.parse_args(argv)
    try:
        report = inspect_bundle(sys.stdin.buffer, api=args.api)
    except (BundleError, SpecError) as error:
        print(error, file=sys.stderr)
        return 1
    sys.stdout.write(
        pip_requirements(report.requirements_text, allow_source_builds=report.spec.build.allow_source_builds)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
