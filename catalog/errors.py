"""The catalog package's exception root and its three branches.

Callers (the CLI) map the branches to exit codes once; every message names the file and, where it
applies, the offset, and says what the user can do.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Root of every error the catalog package raises on purpose."""


class CatalogInputError(CatalogError):
    """The input is malformed or unsupported (a truncated PE, a non-catalog .cat, a bad key)."""


class CatalogEnvironmentError(CatalogError):
    """The environment failed us (a file vanished, permission denied, a disk or network error)."""


class CatalogVerificationError(CatalogError):
    """Something was checked and found wrong (a signature, a chain, a member's hash)."""
