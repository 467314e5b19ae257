"""Error types that cross layer boundaries and map to documented exit codes."""

from __future__ import annotations


class AzauditError(Exception):
    """Base class of every error azaudit reports to the user as one line."""


class InputError(AzauditError):
    """Bad user input (file, option, catalogue): exit code 2, one line, no traceback.

    The message names the file or field and what was expected.
    """


class CatalogueError(InputError):
    """A check definition is invalid."""


class SnapshotError(InputError):
    """A snapshot file is malformed, truncated or of an unsupported version."""
