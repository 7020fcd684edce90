"""Model bundles: streamed, execution-free inspection (control plane) and safe extraction (serving)."""

from axon.bundle.errors import (
    AbsolutePathError,
    BundleError,
    CompressionRatioError,
    CorruptBundleError,
    InvalidMemberError,
    LinkEscapeError,
    MissingPredictorError,
    ModelFnMissingError,
    NotGzipError,
    NotTarError,
    PathTraversalError,
    PredictorClassMissingError,
    PredictorSyntaxError,
    RequirementsInvalidError,
    SpecialFileError,
    TooLargeError,
    TooManyMembersError,
)
from axon.bundle.inspect import inspect_bundle
from axon.bundle.limits import DEFAULT_LIMITS, BundleLimits
from axon.bundle.members import Member, MemberChecker, MemberKind
from axon.bundle.report import BundleReport
from axon.bundle.safe_tar import safe_extract
from axon.bundle.stream import ByteSource

__all__ = [
    "DEFAULT_LIMITS",
    "AbsolutePathError",
    "BundleError",
    "BundleLimits",
    "BundleReport",
    "ByteSource",
    "CompressionRatioError",
    "CorruptBundleError",
    "InvalidMemberError",
    "LinkEscapeError",
    "Member",
    "MemberChecker",
    "MemberKind",
    "MissingPredictorError",
    "ModelFnMissingError",
    "NotGzipError",
    "NotTarError",
    "PathTraversalError",
    "PredictorClassMissingError",
    "PredictorSyntaxError",
    "RequirementsInvalidError",
    "SpecialFileError",
    "TooLargeError",
    "TooManyMembersError",
    "inspect_bundle",
    "safe_extract",
]
