"""CLI errors and the one place that turns any failure into a single line a user can act on."""

from __future__ import annotations

from axon.errors import AxonError


class CliError(AxonError):
    code = "cli.error"


class NotFoundError(CliError):
    code = "cli.not_found"


class DiscoveryError(CliError):
    """Neither the local stack nor the ``AxonCore`` stack could be found."""

    code = "cli.discovery"


class InvalidInputError(CliError):
    code = "cli.invalid_input"


class PackingError(CliError):
    code = "cli.packing"


class RollbackRefusedError(CliError):
    code = "cli.rollback_refused"


class DeleteRefusedError(CliError):
    code = "cli.delete_refused"


class FollowTimeoutError(CliError):
    code = "cli.timeout"


class StatsUnavailableError(CliError):
    """Request statistics could not be read; ``axon get`` still shows what the registry knows."""

    code = "cli.stats_unavailable"


class RolloutEndedError(CliError):
    """A followed rollout ended in another status than ``live``; ``code`` is the registry's reason code."""


def describe(error: Exception) -> str:
    """One line for ``error``: the message a user sees after ``error:`` (no traceback, no repr)."""
    return " ".join(line.strip() for line in _describe(error).splitlines() if line.strip())


def _describe(error: Exception) -> str:
    if isinstance(error, AxonError):
        return str(error)
    # botocore only when describing a failure: `axon.cli.app` imports this module, and `axon --help` stays light.
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        operation = error.operation_name or "AWS call"
        return f"{operation} failed: {details.get('Code', 'Unknown')}: {details.get('Message', '')}".rstrip(": ")
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: configure a profile (or pass --profile), or for the local stack pass --endpoint-url"
    if isinstance(error, NoRegionError):
        return "no AWS region configured: set AWS_REGION"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach {error.kwargs.get('endpoint_url', 'the AWS endpoint')}: is it running?"
    if isinstance(error, BotoCoreError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return f"unexpected {type(error).__name__}: {error} (set AXON_DEBUG=1 for the traceback)"
