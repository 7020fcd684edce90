"""``python -m axon.bundle.requirements_of --api NAME < bundle.tar.gz``: print the bundle's requirements.

The image build (CodeBuild's buildspec) reads requirements this way: the same streamed, validating inspection as
the control plane, so the build never unpacks a bundle with tar and never runs user code.
"""

from __future__ import annotations

import argparse
import sys

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
    sys.stdout.write(report.requirements_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
