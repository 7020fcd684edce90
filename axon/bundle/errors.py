"""Why a bundle was refused: one class per stable code, each raised with a one-line message."""

from __future__ import annotations

from axon.errors import AxonError


class BundleError(AxonError):
    """A bundle that must not be deployed (or extracted); ``code`` is what the registry records."""

    code = "bundle.invalid"


class NotGzipError(BundleError):
    code = "bundle.not_gzip"


class NotTarError(BundleError):
    code = "bundle.not_tar"


class CorruptBundleError(BundleError):
    """Damaged or truncated: bad deflate data, CRC mismatch, a broken tar header after the first one."""

    code = "bundle.corrupt"


class AbsolutePathError(BundleError):
    code = "bundle.absolute_path"


class PathTraversalError(BundleError):
    code = "bundle.path_traversal"


class LinkEscapeError(BundleError):
    """A symlink or hard link that leaves the bundle, or a member written through a symlink."""

    code = "bundle.link_escape"


class InvalidMemberError(BundleError):
    """A member that cannot be extracted as named: empty or over-long name, file/directory clash."""

    code = "bundle.invalid_member"


class SpecialFileError(BundleError):
    code = "bundle.special_file"


class SpecialModeError(BundleError):
    """A file with setuid, setgid or sticky bits: refused, since SageMaker unpacks bundles with its own tar."""

    code = "bundle.special_mode"


class SparseMemberError(BundleError):
    """A GNU or pax sparse member: its few stored bytes expand to any size, past every size check."""

    code = "bundle.sparse_member"


class HeaderChainError(BundleError):
    """More extended (pax / GNU long-name) headers before one member than any real archiver writes."""

    code = "bundle.header_chain"


class TooManyMembersError(BundleError):
    code = "bundle.too_many_members"


class TooLargeError(BundleError):
    code = "bundle.too_large"


class CompressionRatioError(BundleError):
    code = "bundle.compression_ratio"


class MissingPredictorError(BundleError):
    code = "bundle.missing_predictor"


class AmbiguousRequirementsError(BundleError):
    code = "bundle.ambiguous_requirements"


class PredictorSyntaxError(BundleError):
    code = "bundle.predictor_syntax"


class PredictorClassMissingError(BundleError):
    code = "bundle.predictor_class_missing"


class ModelFnMissingError(BundleError):
    code = "bundle.model_fn_missing"


class RequirementsInvalidError(BundleError):
    code = "bundle.requirements_invalid"


def show(text: str, limit: int = 120) -> str:
    """Quote a member name or line for a one-line message: escapes newlines, shortens huge pax names."""
    shown = repr(text[:limit])
    return shown if len(text) <= limit else f"{shown}..."
